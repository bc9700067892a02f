package com.wxnet.internal

/**
 * The JNI entry points of the wxnet shared library (`src/ffi/jni.rs`, cargo feature `jni`).
 * Not public API: use [com.wxnet.App].
 *
 * Conventions: statuses are `WXNET_*` codes (0 ok, < 0 error; detail in [lastError] on the
 * calling thread, read right after the failing call); task starts return the task id (> 0) or a
 * status (< 0); `appNew` writes the app handle into `out[0]`.
 *
 * Loading: the system property `wxnet.library` (an absolute path to the library file) wins;
 * otherwise `System.loadLibrary("wxnet")` (java.library.path, or an APK's jniLibs on Android).
 */
object Native {
    init {
        val path = System.getProperty("wxnet.library")
        if (path.isNullOrEmpty()) System.loadLibrary("wxnet") else System.load(path)
        // A library built without the `jni` feature loads fine and fails at the first call
        // with a bare UnsatisfiedLinkError: probe once and say what is wrong.
        try {
            version()
        } catch (e: UnsatisfiedLinkError) {
            val which = if (path.isNullOrEmpty()) "libwxnet (System.loadLibrary(\"wxnet\"))" else path
            throw UnsatisfiedLinkError(
                "$which has no JNI entry points (Java_com_wxnet_internal_Native_*): build it with the " +
                    "`jni` feature, e.g. `cargo build --release --features jni` " +
                    "(Android: `cargo ndk ... build --release --features jni`)"
            ).apply { initCause(e) }
        }
        // A library of another C ABI version may number statuses and events differently.
        val abi = abiVersion()
        if (abi != com.wxnet.Wxnet.ABI_VERSION) {
            val which = if (path.isNullOrEmpty()) "libwxnet (System.loadLibrary(\"wxnet\"))" else path
            throw UnsatisfiedLinkError(
                "$which implements C ABI version $abi; this binding needs version " +
                    "${com.wxnet.Wxnet.ABI_VERSION}: use the library and the binding of one release"
            )
        }
    }

    @JvmStatic external fun version(): String
    @JvmStatic external fun abiVersion(): Int
    @JvmStatic external fun statusStr(status: Int): String
    @JvmStatic external fun lastError(): String

    @JvmStatic external fun appNew(config: String, sink: EventSink, out: LongArray): Int
    @JvmStatic external fun appFree(app: Long): Int
    @JvmStatic external fun appSetBackground(app: Long, background: Boolean): Int
    @JvmStatic external fun appResetConnections(app: Long): Int

    @JvmStatic external fun request(app: Long, options: String, body: ByteArray?, token: Long): Long
    @JvmStatic external fun uploadFile(app: Long, options: String, token: Long): Long
    @JvmStatic external fun downloadFile(app: Long, options: String, token: Long): Long
    @JvmStatic external fun connectSocket(app: Long, options: String, token: Long): Long

    @JvmStatic external fun taskAbort(task: Long): Int
    @JvmStatic external fun socketSend(task: Long, data: ByteArray, binary: Boolean): Int
    @JvmStatic external fun socketClose(task: Long, code: Int, reason: String?): Int

    @JvmStatic external fun setLogSink(sink: LogSink?, maxLevel: Int): Int
    @JvmStatic external fun initAndroid(context: Any): Int
}

/**
 * Receives every event of one app, on that app's dispatcher thread (a library thread attached
 * to the JVM once, as a daemon), one at a time, in order. `token` is the value given when the
 * task started. Exceptions escaping [onEvent] are caught, cleared and logged by the library.
 */
abstract class EventSink {
    abstract fun onEvent(task: Long, kind: Int, token: Long, json: String, data: ByteArray?)
}

/** Receives the library's log records, from any library thread, possibly concurrently. */
abstract class LogSink {
    abstract fun log(level: Int, message: String)
}
