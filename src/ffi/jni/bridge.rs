//! The JNI plumbing behind the exports in `mod.rs`: per-app contexts, JVM
//! attachment, conversions, and the callbacks that deliver events and logs
//! to Kotlin.

use core::ffi::{c_char, c_void};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use ::jni::objects::{GlobalRef, JByteArray, JMethodID, JObject, JString, JValueOwned};
use ::jni::signature::{Primitive, ReturnType};
use ::jni::sys::{jlong, jstring, jvalue};
use ::jni::{JNIEnv, JavaVM};

use super::super::guard::{guard, set_last_error};
use super::super::{wxnet_app, wxnet_event, wxnet_last_error, wxnet_status, WXNET_OK};
use crate::errors::{ApiError, Status};

/// `com.wxnet.internal.EventSink.onEvent(task, kind, token, json, data)`.
pub(super) const ON_EVENT: (&str, &str) = ("onEvent", "(JIJLjava/lang/String;[B)V");
/// `com.wxnet.internal.LogSink.log(level, message)`.
pub(super) const ON_LOG: (&str, &str) = ("log", "(ILjava/lang/String;)V");
/// Local references one event needs: json, data, and the exception and its
/// text if the listener throws.
pub(super) const EVENT_FRAME: i32 = 8;

/// What an app's event callback needs; its address is the app's user data.
pub(super) struct AppCtx {
    pub(super) vm: JavaVM,
    pub(super) sink: GlobalRef,
    pub(super) on_event: JMethodID,
}

/// The contexts of the live apps, by app handle. A context is boxed so that
/// its address (the app's user data) is stable; it is dropped (releasing the
/// sink's global reference) only after `wxnet_app_free` succeeded, when no
/// callback of its app runs any more.
static CONTEXTS: Mutex<BTreeMap<usize, Box<AppCtx>>> = Mutex::new(BTreeMap::new());

pub(super) fn contexts() -> MutexGuard<'static, BTreeMap<usize, Box<AppCtx>>> {
    CONTEXTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The JVM log sink currently registered with `wxnet_set_log_callback`.
pub(super) struct LogCtx {
    pub(super) vm: JavaVM,
    pub(super) sink: GlobalRef,
    pub(super) on_log: JMethodID,
}

pub(super) fn jni_error(what: &str, e: ::jni::errors::Error) -> ApiError {
    ApiError::new(Status::InvalidArgument, format!("{what}: {e}"))
}

/// A C export's status as a `Result`; an error carries the detail the export
/// left in `wxnet_last_error`, so `jguard` can set it again unchanged.
pub(super) fn status_result(status: wxnet_status) -> Result<(), ApiError> {
    if status == WXNET_OK {
        return Ok(());
    }
    // SAFETY: wxnet_last_error returns a valid NUL-terminated thread-local string.
    let detail = unsafe { std::ffi::CStr::from_ptr(wxnet_last_error()) }
        .to_string_lossy()
        .into_owned();
    Err(ApiError::new(status_of(status), detail))
}

/// The status of a failed C export's code (never `Ok`: a code that is not a
/// failure status maps to `Panic`).
pub(super) fn status_of(code: wxnet_status) -> Status {
    Status::from_code(code)
        .filter(|s| *s != Status::Ok)
        .unwrap_or(Status::Panic)
}

/// Runs a JNI function body under the boundary guard (panics become
/// `WXNET_E_PANIC`; details go to `lastError()`), keeping the detail that a
/// C export set rather than prefixing it twice.
pub(super) fn jguard(name: &str, body: impl FnOnce() -> Result<(), ApiError>) -> wxnet_status {
    let status = guard(name, body);
    if status != WXNET_OK {
        // guard() prefixed the detail with `name`; an inner export already
        // named itself, so strip a doubled prefix for readability.
        // SAFETY: wxnet_last_error returns a valid NUL-terminated thread-local string.
        let text = unsafe { std::ffi::CStr::from_ptr(wxnet_last_error()) }
            .to_string_lossy()
            .into_owned();
        let inner = text
            .strip_prefix(name)
            .and_then(|t| t.strip_prefix(": "))
            .filter(|t| t.starts_with("wxnet_"));
        if let Some(inner) = inner {
            set_last_error(inner);
        }
    }
    status
}

/// A Java string as UTF-8; `None` for a null reference.
pub(super) fn opt_string(env: &mut JNIEnv, s: &JString, what: &str) -> Result<Option<String>, ApiError> {
    if s.as_raw().is_null() {
        return Ok(None);
    }
    let text = env.get_string(s).map_err(|e| jni_error(what, e))?;
    Ok(Some(text.into()))
}

pub(super) fn string(env: &mut JNIEnv, s: &JString, what: &str) -> Result<String, ApiError> {
    opt_string(env, s, what)?.ok_or_else(|| ApiError::new(Status::NullArgument, format!("{what} is null")))
}

/// A Java byte array's contents; `None` for a null reference.
pub(super) fn opt_bytes(env: &mut JNIEnv, a: &JByteArray, what: &str) -> Result<Option<Vec<u8>>, ApiError> {
    if a.as_raw().is_null() {
        return Ok(None);
    }
    env.convert_byte_array(a).map(Some).map_err(|e| jni_error(what, e))
}

/// A new Java string, or null if the JVM cannot make one (an exception is then pending).
pub(super) fn new_jstring(env: &mut JNIEnv, text: &str) -> jstring {
    env.new_string(text)
        .map(|s| s.into_raw())
        .unwrap_or(std::ptr::null_mut())
}

/// A C string (static or thread-local) as a Java string.
///
/// # Safety
/// `p` must be a valid NUL-terminated string.
pub(super) unsafe fn c_to_jstring(env: &mut JNIEnv, p: *const c_char) -> jstring {
    // SAFETY: per the contract.
    let text = unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned();
    new_jstring(env, &text)
}

/// The app behind a Kotlin `Long` handle. The handle is the `wxnet_app*`
/// itself: not an address but a generation-checked name in the library's app
/// table (`src/ffi/app.rs`), so a stale or made-up handle gives
/// `WXNET_E_CLOSED` from the C export instead of reaching freed memory.
pub(super) fn app_of(handle: jlong) -> Result<*mut wxnet_app, ApiError> {
    if handle == 0 {
        return Err(ApiError::new(Status::NullArgument, "app handle is 0"));
    }
    // Bit for bit: a handle from appNew always fits (it came from a usize).
    let bits = usize::try_from(handle as u64)
        .map_err(|_| ApiError::new(Status::Closed, "not an app handle (the app was freed or never existed)"))?;
    Ok(bits as *mut wxnet_app)
}

/// The Kotlin `Long` of an app handle (the inverse of [`app_of`]).
pub(super) fn handle_of(app: *mut wxnet_app) -> jlong {
    app as usize as u64 as jlong
}

/// Runs `f` with the calling thread attached to the JVM (attached once as a
/// daemon and detached by jni-rs when the thread exits) inside a fresh local
/// frame, then clears and logs any exception `f` left pending.
pub(super) fn with_jvm(vm: &JavaVM, what: &str, f: impl FnOnce(&mut JNIEnv) -> ::jni::errors::Result<()>) {
    let mut env = match vm.attach_current_thread_as_daemon() {
        Ok(env) => env,
        Err(e) => {
            log::error!("jni: cannot attach thread to the JVM for {what}: {e}");
            return;
        }
    };
    if env.exception_check().unwrap_or(true) {
        // Never call into Java with an exception pending (e.g. a log record
        // emitted while a JNI call of ours is unwinding).
        return;
    }
    let result = env.with_local_frame(EVENT_FRAME, |env| -> ::jni::errors::Result<()> {
        let result = f(env);
        if env.exception_check()? {
            let thrown = env.exception_occurred()?;
            env.exception_clear()?;
            let text = env
                .call_method(&thrown, "toString", "()Ljava/lang/String;", &[])
                .and_then(JValueOwned::l)
                .map(JString::from)
                .and_then(|s| env.get_string(&s).map(String::from))
                .unwrap_or_else(|_| "an exception".to_string());
            // Describing the exception may itself throw (e.g. OOM): clear again.
            env.exception_clear()?;
            let short: String = text.chars().take(300).collect();
            log::warn!("jni: the {what} threw {short}; ignored");
            return Ok(());
        }
        result
    });
    if let Err(e) = result {
        let _ = env.exception_clear();
        log::error!("jni: delivering {what} failed: {e}");
    }
}

/// The app's event callback (dispatcher thread).
///
/// # Safety
/// `ud` is the app's `AppCtx`, alive until after `wxnet_app_free`; `event` is
/// valid for the call.
pub(super) unsafe extern "C" fn deliver_event(ud: *mut c_void, event: *const wxnet_event) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: per the contract.
        let (ctx, ev) = unsafe { (&*(ud as *const AppCtx), &*event) };
        // SAFETY: the library guarantees json/json_len and data/data_len describe
        // readable memory for the duration of the callback.
        let json = unsafe { std::slice::from_raw_parts(ev.json.cast::<u8>(), ev.json_len) };
        let data = (!ev.data.is_null() && ev.data_len > 0).then(|| {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts(ev.data, ev.data_len) }
        });
        let json = String::from_utf8_lossy(json);
        with_jvm(&ctx.vm, "event listener", |env| {
            let jjson = env.new_string(&*json)?;
            let jdata = match data {
                Some(d) => JObject::from(env.byte_array_from_slice(d)?),
                None => JObject::null(),
            };
            let args = [
                jvalue { j: ev.task as jlong },
                jvalue { i: ev.kind },
                jvalue {
                    j: ev.task_user_data as usize as jlong,
                },
                jvalue { l: jjson.as_raw() },
                jvalue { l: jdata.as_raw() },
            ];
            // SAFETY: `on_event` was looked up on the sink's class with the
            // signature ON_EVENT, which `args` match.
            let r = unsafe {
                env.call_method_unchecked(&ctx.sink, ctx.on_event, ReturnType::Primitive(Primitive::Void), &args)
            };
            match r {
                Err(::jni::errors::Error::JavaException) => Ok(()), // handled by with_jvm
                other => other.map(drop),
            }
        });
    });
}

/// Passes one log record to a JVM log sink (any library thread).
pub(super) fn deliver_log(ctx: &LogCtx, level: i32, text: &str) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let vm = &ctx.vm;
        // No recursion: a log record about a failing log sink would loop.
        let mut env = match vm.attach_current_thread_as_daemon() {
            Ok(env) => env,
            Err(_) => return,
        };
        if env.exception_check().unwrap_or(true) {
            return;
        }
        let _ = env.with_local_frame(4, |env| -> ::jni::errors::Result<()> {
            let jmsg = env.new_string(text)?;
            let args = [jvalue { i: level }, jvalue { l: jmsg.as_raw() }];
            // SAFETY: `on_log` was looked up with the signature ON_LOG, which `args` match.
            let r = unsafe {
                env.call_method_unchecked(&ctx.sink, ctx.on_log, ReturnType::Primitive(Primitive::Void), &args)
            };
            if env.exception_check()? {
                env.exception_clear()?;
            }
            r.map(drop)
        });
        let _ = env.exception_clear();
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JNI mapping agrees with `Status` for every failure (and so with
    /// the `WXNET_E_*` constants, which `ffi`'s tests tie to `Status`).
    #[test]
    fn every_failure_status_maps_back_to_itself() {
        for status in Status::ALL.into_iter().filter(|s| *s != Status::Ok) {
            assert_eq!(status_of(status as wxnet_status), status, "{status:?}");
        }
        assert_eq!(status_of(WXNET_OK), Status::Panic, "OK is not a failure");
        assert_eq!(status_of(-50), Status::Panic);
    }
}
