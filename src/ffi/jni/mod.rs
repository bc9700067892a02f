//! JNI entry points for the Kotlin/Android binding (`bindings/kotlin`), behind
//! the cargo feature `jni`.
//!
//! The Kotlin side declares `external` functions on the internal object
//! `com.wxnet.internal.Native` (as `@JvmStatic`), with apps as opaque `Long`
//! handles and tasks as `Long` ids. An app's `Long` is its `wxnet_app*` itself,
//! a generation-checked name and not an address: a stale handle (after
//! `appFree`, a second `appFree` too) gives `WXNET_E_CLOSED`, never freed
//! memory; the app's JNI context lives in a table keyed by that handle. Every function here is a thin client of
//! the C exports next to it, so the JVM takes exactly the path a C host takes;
//! these functions use `extern "system"` and so stay out of `include/wxnet.h`.
//!
//! Events: each app's dispatcher thread is attached to the JVM once, as a
//! daemon (an app the host forgets to close must not keep the JVM alive), and
//! jni-rs detaches it when the thread exits (`wxnet_app_free` joins it). Each
//! event is delivered inside its own JNI local frame, so an endless event
//! stream leaks no local references. A Java exception thrown by the listener
//! is cleared and logged; it never becomes a Rust panic or reaches the
//! library. The app's global references are released when the app is freed.
//!
//! Conventions of the Kotlin-facing functions:
//! - statuses are the `WXNET_*` codes as `Int`;
//! - task starts return the task id (> 0) or a status (< 0): ids are below 2^63;
//! - `appNew` writes the handle into a `LongArray` (a handle's sign means
//!   nothing);
//! - the detail of a failure is read with `lastError()` on the same thread.

mod bridge;

use core::ffi::{c_char, c_void};

use ::jni::objects::{JByteArray, JClass, JLongArray, JObject, JString};
use ::jni::sys::{jboolean, jint, jlong, jstring, JNI_FALSE};
use ::jni::JNIEnv;

use super::{
    wxnet_abi_version, wxnet_app, wxnet_app_free, wxnet_app_new, wxnet_app_reset_connections, wxnet_app_set_background,
    wxnet_connect_socket, wxnet_download_file, wxnet_last_error, wxnet_request, wxnet_socket_close, wxnet_socket_send,
    wxnet_status, wxnet_status_str, wxnet_task_abort, wxnet_task_id, wxnet_upload_file, wxnet_version, WXNET_OK,
};
use crate::errors::{ApiError, Status};

/// `com.wxnet.internal.EventSink.onEvent(task, kind, token, json, data)`.
use bridge::*;
/// `Native.version(): String`: the library version.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_version(mut env: JNIEnv, _class: JClass) -> jstring {
    // SAFETY: wxnet_version returns a static NUL-terminated string.
    unsafe { c_to_jstring(&mut env, wxnet_version()) }
}

/// `Native.abiVersion(): Int`: the C ABI version of this library
/// (`wxnet_abi_version()`), which the Kotlin side compares with its own
/// `Wxnet.ABI_VERSION` when it loads the library.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_abiVersion(_env: JNIEnv, _class: JClass) -> jint {
    wxnet_abi_version()
}

/// `Native.statusStr(status: Int): String`: the static text of a status.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_statusStr(
    mut env: JNIEnv,
    _class: JClass,
    status: jint,
) -> jstring {
    // SAFETY: wxnet_status_str returns a static NUL-terminated string.
    unsafe { c_to_jstring(&mut env, wxnet_status_str(status)) }
}

/// `Native.lastError(): String`: the detail of the last failed call on this thread.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_lastError(mut env: JNIEnv, _class: JClass) -> jstring {
    // SAFETY: wxnet_last_error returns a valid NUL-terminated thread-local string.
    unsafe { c_to_jstring(&mut env, wxnet_last_error()) }
}

/// `Native.appNew(config: String, sink: EventSink, out: LongArray): Int`:
/// creates an app in callback mode whose events go to `sink.onEvent`; on
/// `WXNET_OK` the handle is written to `out[0]`. Free it with `appFree`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_appNew(
    mut env: JNIEnv,
    _class: JClass,
    config: JString,
    sink: JObject,
    out: JLongArray,
) -> jint {
    jguard("appNew", || {
        let config = string(&mut env, &config, "config")?;
        if sink.as_raw().is_null() || out.as_raw().is_null() {
            return Err(ApiError::new(Status::NullArgument, "sink or out is null"));
        }
        let class = env.get_object_class(&sink).map_err(|e| jni_error("sink class", e))?;
        let on_event = env.get_method_id(&class, ON_EVENT.0, ON_EVENT.1).map_err(|e| {
            let _ = env.exception_clear();
            jni_error("sink has no onEvent(JIJLjava/lang/String;[B)V", e)
        })?;
        let ctx = Box::new(AppCtx {
            vm: env.get_java_vm().map_err(|e| jni_error("JavaVM", e))?,
            sink: env.new_global_ref(&sink).map_err(|e| jni_error("global ref", e))?,
            on_event,
        });
        let mut app: *mut wxnet_app = std::ptr::null_mut();
        // SAFETY: config is `config.len()` readable bytes; `ctx` outlives the
        // app (kept in `contexts()` and dropped only after wxnet_app_free
        // succeeds); `app` is writable.
        let status = unsafe {
            wxnet_app_new(
                config.as_ptr().cast(),
                config.len(),
                Some(deliver_event),
                (&*ctx as *const AppCtx).cast_mut().cast(),
                &mut app,
            )
        };
        status_result(status)?;
        contexts().insert(app as usize, ctx);
        if let Err(e) = env.set_long_array_region(&out, 0, &[handle_of(app)]) {
            let _ = env.exception_clear();
            // SAFETY: the handle from wxnet_app_new above (only decoded, never
            // dereferenced); not in its own callback.
            if unsafe { wxnet_app_free(app) } == WXNET_OK {
                contexts().remove(&(app as usize));
            }
            return Err(jni_error("out[0]", e));
        }
        Ok(())
    })
}

/// `Native.appFree(app: Long): Int`: frees the app (terminal events of the
/// aborted tasks are delivered first) and its global references. From inside
/// its own listener: `WXNET_E_WOULD_DEADLOCK`, nothing freed. A freed (stale)
/// handle, a second free included: `WXNET_E_CLOSED`, nothing freed.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_appFree(_env: JNIEnv, _class: JClass, app: jlong) -> jint {
    jguard("appFree", || {
        let app = app_of(app)?;
        // SAFETY: wxnet_app_free only decodes the handle (generation-checked:
        // a stale one gives WXNET_E_CLOSED), it never dereferences it.
        status_result(unsafe { wxnet_app_free(app) })?;
        // This call freed the app (any other free of it got WXNET_E_CLOSED):
        // no callback runs any more, so nothing refers to its context.
        // Dropping it releases the sink's global reference.
        drop(contexts().remove(&(app as usize)));
        Ok(())
    })
}

/// `Native.appSetBackground(app: Long, background: Boolean): Int`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_appSetBackground(
    _env: JNIEnv,
    _class: JClass,
    app: jlong,
    background: jboolean,
) -> jint {
    jguard("appSetBackground", || {
        let app = app_of(app)?;
        // SAFETY: only decoded, never dereferenced (a stale handle gives WXNET_E_CLOSED).
        status_result(unsafe { wxnet_app_set_background(app, background != JNI_FALSE) })
    })
}

/// `Native.appResetConnections(app: Long): Int`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_appResetConnections(
    _env: JNIEnv,
    _class: JClass,
    app: jlong,
) -> jint {
    jguard("appResetConnections", || {
        let app = app_of(app)?;
        // SAFETY: only decoded, never dereferenced (a stale handle gives WXNET_E_CLOSED).
        status_result(unsafe { wxnet_app_reset_connections(app) })
    })
}

type StartFn =
    unsafe extern "C" fn(*mut wxnet_app, *const c_char, usize, *mut c_void, *mut wxnet_task_id) -> wxnet_status;

/// Shared shape of the task starts: the task id, or a status (< 0).
fn start(
    env: &mut JNIEnv,
    name: &str,
    app: jlong,
    options: &JString,
    body: Option<&JByteArray>,
    token: jlong,
    f: Option<StartFn>,
) -> jlong {
    let mut id: wxnet_task_id = 0;
    let status = jguard(name, || {
        let options = string(env, options, "options")?;
        let body = match body {
            Some(b) => opt_bytes(env, b, "body")?,
            None => None,
        };
        let app = app_of(app)?;
        let ud = token as usize as *mut c_void;
        // SAFETY: the app handle is only decoded, never dereferenced (a stale
        // one gives WXNET_E_CLOSED); every pointer covers its length for the
        // call (inputs are copied); `id` is writable.
        let status = unsafe {
            match f {
                Some(f) => f(app, options.as_ptr().cast(), options.len(), ud, &mut id),
                None => {
                    let (p, n) = body.as_deref().map_or((std::ptr::null(), 0), |b| (b.as_ptr(), b.len()));
                    wxnet_request(app, options.as_ptr().cast(), options.len(), p, n, ud, &mut id)
                }
            }
        };
        status_result(status)
    });
    if status == WXNET_OK {
        id as jlong
    } else {
        jlong::from(status)
    }
}

/// `Native.request(app: Long, options: String, body: ByteArray?, token: Long): Long`:
/// starts a wx.request (`body`: an ArrayBuffer `data`); returns the task id
/// (> 0) or a status (< 0). `token` comes back with each of its events.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_request(
    mut env: JNIEnv,
    _class: JClass,
    app: jlong,
    options: JString,
    body: JByteArray,
    token: jlong,
) -> jlong {
    start(&mut env, "request", app, &options, Some(&body), token, None)
}

/// `Native.uploadFile(app: Long, options: String, token: Long): Long`: as `request`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_uploadFile(
    mut env: JNIEnv,
    _class: JClass,
    app: jlong,
    options: JString,
    token: jlong,
) -> jlong {
    start(
        &mut env,
        "uploadFile",
        app,
        &options,
        None,
        token,
        Some(wxnet_upload_file),
    )
}

/// `Native.downloadFile(app: Long, options: String, token: Long): Long`: as `request`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_downloadFile(
    mut env: JNIEnv,
    _class: JClass,
    app: jlong,
    options: JString,
    token: jlong,
) -> jlong {
    start(
        &mut env,
        "downloadFile",
        app,
        &options,
        None,
        token,
        Some(wxnet_download_file),
    )
}

/// `Native.connectSocket(app: Long, options: String, token: Long): Long`: as `request`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_connectSocket(
    mut env: JNIEnv,
    _class: JClass,
    app: jlong,
    options: JString,
    token: jlong,
) -> jlong {
    start(
        &mut env,
        "connectSocket",
        app,
        &options,
        None,
        token,
        Some(wxnet_connect_socket),
    )
}

/// `Native.taskAbort(task: Long): Int`: never blocks, idempotent.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_taskAbort(_env: JNIEnv, _class: JClass, task: jlong) -> jint {
    jguard("taskAbort", || status_result(wxnet_task_abort(task as wxnet_task_id)))
}

/// `Native.socketSend(task: Long, data: ByteArray, binary: Boolean): Int`:
/// a text (`binary` false, UTF-8 bytes) or binary message.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_socketSend(
    mut env: JNIEnv,
    _class: JClass,
    task: jlong,
    data: JByteArray,
    binary: jboolean,
) -> jint {
    jguard("socketSend", || {
        let data =
            opt_bytes(&mut env, &data, "data")?.ok_or_else(|| ApiError::new(Status::NullArgument, "data is null"))?;
        // SAFETY: `data` is readable for its length during the call (copied).
        status_result(unsafe {
            wxnet_socket_send(task as wxnet_task_id, data.as_ptr(), data.len(), binary != JNI_FALSE)
        })
    })
}

/// `Native.socketClose(task: Long, code: Int, reason: String?): Int`: code 0
/// means 1000.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_socketClose(
    mut env: JNIEnv,
    _class: JClass,
    task: jlong,
    code: jint,
    reason: JString,
) -> jint {
    jguard("socketClose", || {
        let reason = opt_string(&mut env, &reason, "reason")?.unwrap_or_default();
        // SAFETY: `reason` is readable for its length during the call (copied).
        status_result(unsafe { wxnet_socket_close(task as wxnet_task_id, code, reason.as_ptr().cast(), reason.len()) })
    })
}

/// `Native.setLogSink(sink: LogSink?, maxLevel: Int): Int`: process-wide;
/// `sink.log(level, message)` may be called from any library thread
/// (attached as a daemon). null turns logging off. Must not be called from
/// inside the sink itself.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_setLogSink(
    mut env: JNIEnv,
    _class: JClass,
    sink: JObject,
    max_level: jint,
) -> jint {
    jguard("setLogSink", || {
        let sink = if sink.as_raw().is_null() {
            None
        } else {
            let class = env.get_object_class(&sink).map_err(|e| jni_error("sink class", e))?;
            let on_log = env.get_method_id(&class, ON_LOG.0, ON_LOG.1).map_err(|e| {
                let _ = env.exception_clear();
                jni_error("sink has no log(ILjava/lang/String;)V", e)
            })?;
            let ctx = LogCtx {
                vm: env.get_java_vm().map_err(|e| jni_error("JavaVM", e))?,
                sink: env.new_global_ref(&sink).map_err(|e| jni_error("global ref", e))?,
                on_log,
            };
            // The closure owns the context: it lives as long as a call may
            // still use it, also when a log call itself replaces the sink.
            Some(Box::new(move |level: i32, msg: &str| deliver_log(&ctx, level, msg)) as crate::logging::LogSink)
        };
        crate::logging::set_sink(sink, max_level)
            .map_err(|e| ApiError::new(Status::InvalidState, format!("cannot start the log thread: {e}")))?;
        Ok(())
    })
}

/// `Native.initAndroid(context: Any): Int`: on Android, hands the
/// application `Context` to rustls-platform-verifier (system trust store);
/// call once before the first app. Elsewhere a no-op returning `WXNET_OK`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_initAndroid(
    mut env: JNIEnv,
    _class: JClass,
    context: JObject,
) -> jint {
    jguard("initAndroid", || {
        if context.as_raw().is_null() {
            return Err(ApiError::new(Status::NullArgument, "context is null"));
        }
        init_android(&mut env, context)
    })
}

#[cfg(target_os = "android")]
fn init_android(env: &mut JNIEnv, context: JObject) -> Result<(), ApiError> {
    rustls_platform_verifier::android::init_with_env(env, context).map_err(|e| {
        let _ = env.exception_clear();
        ApiError::new(Status::InvalidState, format!("rustls-platform-verifier init: {e}"))
    })?;
    crate::net::tls::mark_platform_initialised();
    Ok(())
}

#[cfg(not(target_os = "android"))]
fn init_android(_env: &mut JNIEnv, _context: JObject) -> Result<(), ApiError> {
    Ok(())
}
