//! Android initialisation for hosts that do not use the Kotlin binding.

use core::ffi::c_void;

use ::jni::objects::JObject;
use ::jni::JavaVM;

use super::guard::{guard, non_null};
use super::wxnet_status;
use crate::errors::{ApiError, Status};

/// Android only: hands the JVM and the application `Context` to the platform
/// certificate verifier (Android's TrustManager), so that HTTPS and wss use
/// the system trust store. Call it once, before the first request, from a
/// thread attached to the JVM or not (it attaches the calling thread if
/// needed): e.g. from a JNI method of your own with `(*env)->GetJavaVM` and
/// your `Context`. Later calls are no-ops returning `WXNET_OK`.
///
/// `java_vm` is the process's `JavaVM*`; `context` a `jobject` reference
/// (local or global, valid during the call) to an `android.content.Context`.
/// The library keeps its own global references. The app must ship the
/// `rustls-platform-verifier` Android classes (README: Android).
/// Without this call every TLS handshake fails with an errMsg saying that
/// Android initialisation is missing. Declared only for Android (`__ANDROID__`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_android_init(java_vm: *mut c_void, context: *mut c_void) -> wxnet_status {
    guard("wxnet_android_init", || {
        non_null(java_vm, "java_vm")?;
        non_null(context, "context")?;
        // SAFETY: the host passes its process's `JavaVM*` (checked non-NULL);
        // the wrapper only calls through its function table and never destroys it.
        let vm = unsafe { JavaVM::from_raw(java_vm.cast()) }
            .map_err(|e| ApiError::new(Status::InvalidArgument, format!("java_vm: {e}")))?;
        let mut env = vm
            .attach_current_thread()
            .map_err(|e| ApiError::new(Status::InvalidState, format!("attaching to the JVM: {e}")))?;
        // SAFETY: `context` is a live JNI reference for the duration of this
        // call (the caller's contract); it is only borrowed here.
        let context = unsafe { JObject::from_raw(context.cast()) };
        rustls_platform_verifier::android::init_with_env(&mut env, context).map_err(|e| {
            let _ = env.exception_clear();
            ApiError::new(Status::InvalidState, format!("platform verifier: {e}"))
        })?;
        crate::net::tls::mark_platform_initialised();
        Ok(())
    })
}
