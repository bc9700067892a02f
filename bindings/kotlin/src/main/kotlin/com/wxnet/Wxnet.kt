package com.wxnet

import com.wxnet.internal.LogSink
import com.wxnet.internal.Native

/** Library-wide functions: version, logging, Android initialisation. */
object Wxnet {
    /** The C ABI version this binding was written for (`WXNET_ABI_VERSION`). */
    const val ABI_VERSION = 1

    const val LOG_ERROR = 1
    const val LOG_WARN = 2
    const val LOG_INFO = 3
    const val LOG_DEBUG = 4
    const val LOG_TRACE = 5

    /** The native library's version, e.g. "0.1.0". */
    @JvmStatic
    val version: String get() = Native.version()

    /** The static description of a [Status] code. */
    @JvmStatic
    fun statusText(status: Int): String = Native.statusStr(status)

    /**
     * Sets the process-wide log sink (`null`: logging off). [logger] may be called from any
     * library thread, concurrently; it never receives URLs with their query strings, header
     * values or bodies. Exceptions it throws are swallowed. It must not call [setLogger] itself.
     * Returns once the previous logger is not running any more (it is never called again), so
     * do not call it while holding a lock the previous logger takes.
     */
    @JvmStatic
    fun setLogger(maxLevel: Int = LOG_INFO, logger: ((level: Int, message: String) -> Unit)?) {
        val sink = logger?.let {
            object : LogSink() {
                override fun log(level: Int, message: String) = it(level, message)
            }
        }
        check(Native.setLogSink(sink, maxLevel), "setLogger")
    }

    /**
     * Android only: hands the application `Context` to rustls-platform-verifier so that TLS
     * uses the system trust store. Call once (e.g. in `Application.onCreate`) before the first
     * [App]. On the desktop JVM this is a no-op. The parameter is typed `Any` so that this
     * artifact needs no Android dependency; pass an `android.content.Context`.
     */
    @JvmStatic
    fun initAndroid(context: Any) = check(Native.initAndroid(context), "initAndroid")

    internal fun check(status: Int, what: String) {
        if (status != Status.OK) throw WxnetException.last(status, what)
    }
}

/** The C ABI's status codes (`WXNET_OK`, `WXNET_E_*`). */
object Status {
    const val OK = 0
    const val NULL_ARGUMENT = -1
    const val INVALID_ARGUMENT = -2
    const val INVALID_CONFIG = -3
    const val UNKNOWN_TASK = -4
    const val INVALID_STATE = -5
    const val WRONG_MODE = -6
    const val WOULD_DEADLOCK = -7
    const val CLOSED = -8
    const val PANIC = -99
}

/**
 * A synchronous API error: misuse (bad JSON, invalid config, unknown task, an app being
 * closed...). Network and wx-level failures are never thrown this way; they arrive as
 * [Event.Fail] (or [WxFailException] from the suspend helpers).
 */
class WxnetException(val status: Int, val detail: String) :
    RuntimeException("${Native.statusStr(status)} ($status)${if (detail.isEmpty()) "" else ": $detail"}") {
    internal companion object {
        /** Must be called right after the failing native call, on the same thread. */
        fun last(status: Int, what: String): WxnetException =
            WxnetException(status, Native.lastError().ifEmpty { what })
    }
}

/**
 * A [SocketTask.events] collector did not keep up: [messages] messages ([bytes] payload bytes)
 * were waiting when one more came and would go past [maxMessages] / [maxBytes]. The socket was
 * aborted; the flow had emitted every event buffered before.
 */
class SocketFlowOverflowException(val messages: Int, val bytes: Long, val maxMessages: Int, val maxBytes: Long) :
    RuntimeException(
        "socket event stream overflow: the consumer did not keep up ($messages messages / $bytes bytes buffered; " +
            "limits $maxMessages messages / $maxBytes bytes)",
    )

/** A wx `fail` result (`{errMsg, errno}`) of a request, upload or download. */
class WxFailException(val fail: Event.Fail) : Exception("${fail.errMsg} (errno ${fail.errno})") {
    val errno: Long get() = fail.errno
    val errMsg: String get() = fail.errMsg
}
