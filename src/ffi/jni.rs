//! JNI entry points for the Kotlin/Android binding (`bindings/kotlin`), behind
//! the cargo feature `jni`.
//!
//! The Kotlin side declares `external` functions on the internal object
//! `com.wxnet.internal.Native` (as `@JvmStatic`), with apps as opaque `Long`
//! handles and tasks as `Long` ids. Every function here is a thin client of
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
//! - `appNew` writes the handle into a `LongArray` (pointers may be tagged on
//!   Android, so a handle's sign means nothing);
//! - the detail of a failure is read with `lastError()` on the same thread.

use core::ffi::{c_char, c_void};

use ::jni::objects::{GlobalRef, JByteArray, JClass, JLongArray, JMethodID, JObject, JString, JValueOwned};
use ::jni::signature::{Primitive, ReturnType};
use ::jni::sys::{jboolean, jint, jlong, jstring, jvalue, JNI_FALSE};
use ::jni::{JNIEnv, JavaVM};
use std::sync::Mutex;

use super::guard::{guard, set_last_error};
use super::{
    wxnet_app, wxnet_app_free, wxnet_app_new, wxnet_app_set_background, wxnet_connect_socket, wxnet_download_file,
    wxnet_event, wxnet_last_error, wxnet_request, wxnet_set_log_callback, wxnet_socket_close, wxnet_socket_send,
    wxnet_status, wxnet_status_str, wxnet_task_abort, wxnet_task_id, wxnet_upload_file, wxnet_version, WXNET_OK,
};
use crate::errors::{ApiError, Status};

/// `com.wxnet.internal.EventSink.onEvent(task, kind, token, json, data)`.
const ON_EVENT: (&str, &str) = ("onEvent", "(JIJLjava/lang/String;[B)V");
/// `com.wxnet.internal.LogSink.log(level, message)`.
const ON_LOG: (&str, &str) = ("log", "(ILjava/lang/String;)V");
/// Local references one event needs: json, data, and the exception and its
/// text if the listener throws.
const EVENT_FRAME: i32 = 8;

/// What an app's event callback needs; its address is the app's user data.
struct AppCtx {
    vm: JavaVM,
    sink: GlobalRef,
    on_event: JMethodID,
}

/// What a Kotlin `Long` app handle points to.
struct Handle {
    app: *mut wxnet_app,
    /// Boxed so that its address (the app's user data) is stable.
    ctx: Box<AppCtx>,
}

/// The JVM log sink currently registered with `wxnet_set_log_callback`.
struct LogCtx {
    vm: JavaVM,
    sink: GlobalRef,
    on_log: JMethodID,
}

static LOG_SINK: Mutex<Option<Box<LogCtx>>> = Mutex::new(None);

fn jni_error(what: &str, e: ::jni::errors::Error) -> ApiError {
    ApiError::new(Status::InvalidArgument, format!("{what}: {e}"))
}

/// A C export's status as a `Result`; an error carries the detail the export
/// left in `wxnet_last_error`, so `jguard` can set it again unchanged.
fn status_result(status: wxnet_status) -> Result<(), ApiError> {
    if status == WXNET_OK {
        return Ok(());
    }
    // SAFETY: wxnet_last_error returns a valid NUL-terminated thread-local string.
    let detail = unsafe { std::ffi::CStr::from_ptr(wxnet_last_error()) }
        .to_string_lossy()
        .into_owned();
    Err(ApiError::new(status_of(status), detail))
}

fn status_of(code: wxnet_status) -> Status {
    [
        Status::NullArgument,
        Status::InvalidArgument,
        Status::InvalidConfig,
        Status::UnknownTask,
        Status::InvalidState,
        Status::WrongMode,
        Status::WouldDeadlock,
        Status::Closed,
        Status::Panic,
    ]
    .into_iter()
    .find(|s| *s as wxnet_status == code)
    .unwrap_or(Status::Panic)
}

/// Runs a JNI function body under the boundary guard (panics become
/// `WXNET_E_PANIC`; details go to `lastError()`), keeping the detail that a
/// C export set rather than prefixing it twice.
fn jguard(name: &str, body: impl FnOnce() -> Result<(), ApiError>) -> wxnet_status {
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
fn opt_string(env: &mut JNIEnv, s: &JString, what: &str) -> Result<Option<String>, ApiError> {
    if s.as_raw().is_null() {
        return Ok(None);
    }
    let text = env.get_string(s).map_err(|e| jni_error(what, e))?;
    Ok(Some(text.into()))
}

fn string(env: &mut JNIEnv, s: &JString, what: &str) -> Result<String, ApiError> {
    opt_string(env, s, what)?.ok_or_else(|| ApiError::new(Status::NullArgument, format!("{what} is null")))
}

/// A Java byte array's contents; `None` for a null reference.
fn opt_bytes(env: &mut JNIEnv, a: &JByteArray, what: &str) -> Result<Option<Vec<u8>>, ApiError> {
    if a.as_raw().is_null() {
        return Ok(None);
    }
    env.convert_byte_array(a).map(Some).map_err(|e| jni_error(what, e))
}

/// A new Java string, or null if the JVM cannot make one (an exception is then pending).
fn new_jstring(env: &mut JNIEnv, text: &str) -> jstring {
    env.new_string(text)
        .map(|s| s.into_raw())
        .unwrap_or(std::ptr::null_mut())
}

/// A C string (static or thread-local) as a Java string.
///
/// # Safety
/// `p` must be a valid NUL-terminated string.
unsafe fn c_to_jstring(env: &mut JNIEnv, p: *const c_char) -> jstring {
    // SAFETY: per the contract.
    let text = unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned();
    new_jstring(env, &text)
}

/// The handle behind a Kotlin `Long`.
///
/// # Safety
/// `handle` must be 0 or a live value from `appNew` (the Kotlin `App` keeps
/// calls and `appFree` apart).
unsafe fn handle_ref<'a>(handle: jlong) -> Result<&'a Handle, ApiError> {
    let p = handle as usize as *const Handle;
    if p.is_null() {
        return Err(ApiError::new(Status::NullArgument, "app handle is 0"));
    }
    // SAFETY: non-NULL and live per the contract.
    Ok(unsafe { &*p })
}

/// Runs `f` with the calling thread attached to the JVM (attached once as a
/// daemon and detached by jni-rs when the thread exits) inside a fresh local
/// frame, then clears and logs any exception `f` left pending.
fn with_jvm(vm: &JavaVM, what: &str, f: impl FnOnce(&mut JNIEnv) -> ::jni::errors::Result<()>) {
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
unsafe extern "C" fn deliver_event(ud: *mut c_void, event: *const wxnet_event) {
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

/// The log callback registered for a JVM log sink (any library thread).
///
/// # Safety
/// `ud` is the registered `LogCtx`, alive while registered; `msg` is valid
/// for `len` bytes during the call.
unsafe extern "C" fn deliver_log(ud: *mut c_void, level: i32, msg: *const c_char, len: usize) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: per the contract.
        let (ctx, msg) = unsafe {
            (
                &*(ud as *const LogCtx),
                std::slice::from_raw_parts(msg.cast::<u8>(), len),
            )
        };
        let text = String::from_utf8_lossy(msg);
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
            let jmsg = env.new_string(&*text)?;
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
    });
}

/// `Native.version(): String`: the library version.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_version(mut env: JNIEnv, _class: JClass) -> jstring {
    // SAFETY: wxnet_version returns a static NUL-terminated string.
    unsafe { c_to_jstring(&mut env, wxnet_version()) }
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
        // app (dropped only after wxnet_app_free succeeds); `app` is writable.
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
        let handle = Box::into_raw(Box::new(Handle { app, ctx })) as usize as jlong;
        if let Err(e) = env.set_long_array_region(&out, 0, &[handle]) {
            let _ = env.exception_clear();
            // SAFETY: just created above and never shared.
            let h = unsafe { Box::from_raw(handle as usize as *mut Handle) };
            // SAFETY: a live app from wxnet_app_new, not in its own callback.
            unsafe { wxnet_app_free(h.app) };
            return Err(jni_error("out[0]", e));
        }
        Ok(())
    })
}

/// `Native.appFree(app: Long): Int`: frees the app (terminal events of the
/// aborted tasks are delivered first) and its global references. From inside
/// its own listener: `WXNET_E_WOULD_DEADLOCK`, nothing freed.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_wxnet_internal_Native_appFree(_env: JNIEnv, _class: JClass, app: jlong) -> jint {
    jguard("appFree", || {
        // SAFETY: per the Kotlin App's contract, a live handle not used concurrently.
        let h = unsafe { handle_ref(app) }?;
        // SAFETY: a live app.
        status_result(unsafe { wxnet_app_free(h.app) })?;
        // SAFETY: from Box::into_raw in appNew; its app is gone and no callback
        // runs any more, so nothing refers to the context.
        let Handle { app: _, ctx } = *unsafe { Box::from_raw(app as usize as *mut Handle) };
        // Releases the sink's global reference.
        drop(ctx);
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
        // SAFETY: per the Kotlin App's contract, a live handle.
        let h = unsafe { handle_ref(app) }?;
        // SAFETY: a live app.
        status_result(unsafe { wxnet_app_set_background(h.app, background != JNI_FALSE) })
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
        // SAFETY: per the Kotlin App's contract, a live handle.
        let h = unsafe { handle_ref(app) }?;
        let ud = token as usize as *mut c_void;
        // SAFETY: the app is live; every pointer covers its length for the
        // call (inputs are copied); `id` is writable.
        let status = unsafe {
            match f {
                Some(f) => f(h.app, options.as_ptr().cast(), options.len(), ud, &mut id),
                None => {
                    let (p, n) = body.as_deref().map_or((std::ptr::null(), 0), |b| (b.as_ptr(), b.len()));
                    wxnet_request(h.app, options.as_ptr().cast(), options.len(), p, n, ud, &mut id)
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
        let mut slot = LOG_SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let new = if sink.as_raw().is_null() {
            None
        } else {
            let class = env.get_object_class(&sink).map_err(|e| jni_error("sink class", e))?;
            let on_log = env.get_method_id(&class, ON_LOG.0, ON_LOG.1).map_err(|e| {
                let _ = env.exception_clear();
                jni_error("sink has no log(ILjava/lang/String;)V", e)
            })?;
            Some(Box::new(LogCtx {
                vm: env.get_java_vm().map_err(|e| jni_error("JavaVM", e))?,
                sink: env.new_global_ref(&sink).map_err(|e| jni_error("global ref", e))?,
                on_log,
            }))
        };
        let status = match &new {
            Some(ctx) => wxnet_set_log_callback(
                Some(deliver_log),
                (&**ctx as *const LogCtx).cast_mut().cast(),
                max_level,
            ),
            None => wxnet_set_log_callback(None, std::ptr::null_mut(), max_level),
        };
        status_result(status)?;
        // Once replaced, no call runs with the old context any more (the
        // library swaps sinks under a lock that every log call holds).
        *slot = new;
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
    })
}

#[cfg(not(target_os = "android"))]
fn init_android(_env: &mut JNIEnv, _context: JObject) -> Result<(), ApiError> {
    Ok(())
}
