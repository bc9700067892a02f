package com.wxnet

import com.wxnet.internal.Json

/**
 * One event of a task: [json] is the wx `res` object as a JSON string, exactly what a
 * mini-program's JavaScript callback receives; [data] is the binary payload (the request
 * body, a chunk, a socket message) or `null`.
 */
sealed class Event(
    /** The task this event belongs to. */
    val taskId: Long,
    /** The wx `res` object (UTF-8 JSON text). */
    val json: String,
    /** The binary payload, or `null`. */
    val data: ByteArray?,
) {
    /** The `WXNET_EVENT_*` number. */
    abstract val kind: Int

    /** [json] parsed (objects are `Map`s, arrays `List`s, numbers `Long` or `Double`); prefer the typed results. */
    val res: Map<String, Any?> by lazy { Json.parseObject(json) }

    /** [data] as UTF-8 text ("" when there is none). */
    fun text(): String = data?.toString(Charsets.UTF_8) ?: ""

    override fun toString(): String = "${javaClass.simpleName}(task=$taskId, json=$json, data=${data?.size ?: 0} bytes)"

    /** Terminal: the wx `success` res. For a request, [data] holds the body (`res.dataKind`). */
    class Success(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = SUCCESS
        val errMsg: String get() = res["errMsg"] as? String ?: ""
        val statusCode: Int get() = (res["statusCode"] as? Number)?.toInt() ?: 0
    }

    /** Terminal: `{errMsg, errno}`. */
    class Fail(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = FAIL
        val errMsg: String get() = res["errMsg"] as? String ?: ""
        val errno: Long get() = (res["errno"] as? Number)?.toLong() ?: 0
    }

    /** `{statusCode, header, cookies}` before the body. */
    class HeadersReceived(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = HEADERS_RECEIVED

        /** The HTTP status (request only; 0 for upload/download, whose res has only `header`). */
        val statusCode: Int get() = (res["statusCode"] as? Number)?.toInt() ?: 0
        val header: Headers get() = Headers(res["header"] as? Map<*, *>)

        /** The raw `Set-Cookie` values (request only). */
        val cookies: List<String> get() = (res["cookies"] as? List<*>)?.map { it.toString() } ?: emptyList()
    }

    /** Upload/download progress: `{progress, totalBytesSent|Written, totalBytesExpectedTo...}`. */
    class Progress(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = PROGRESS
        val progress: Int get() = (res["progress"] as? Number)?.toInt() ?: 0

        /** Typed: progress with the byte counts. */
        fun toTransferProgress(): TransferProgress = TransferProgress.of(this)
    }

    /** `{}` with the chunk in [data] (request with `enableChunked`). */
    class ChunkReceived(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = CHUNK_RECEIVED
    }

    /** The socket opened: `{header, profile}`. */
    class SocketOpen(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = SOCKET_OPEN
    }

    /** A message: `{"dataKind": "text"|"arraybuffer"}`, the message in [data]. */
    class SocketMessage(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = SOCKET_MESSAGE
        val isText: Boolean get() = res["dataKind"] == "text"
    }

    /** `{errMsg}`. */
    class SocketError(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = SOCKET_ERROR
    }

    /** Terminal for sockets: `{code, reason}`. */
    class SocketClose(taskId: Long, json: String, data: ByteArray?) : Event(taskId, json, data) {
        override val kind get() = SOCKET_CLOSE
        val code: Int get() = (res["code"] as? Number)?.toInt() ?: 0
        val reason: String get() = res["reason"] as? String ?: ""
    }

    /** A kind this binding does not know (a newer library). */
    class Other(taskId: Long, override val kind: Int, json: String, data: ByteArray?) : Event(taskId, json, data)

    companion object {
        const val SUCCESS = 1
        const val FAIL = 2
        const val HEADERS_RECEIVED = 3
        const val PROGRESS = 4
        const val CHUNK_RECEIVED = 5
        const val SOCKET_OPEN = 10
        const val SOCKET_MESSAGE = 11
        const val SOCKET_ERROR = 12
        const val SOCKET_CLOSE = 13

        internal fun of(task: Long, kind: Int, json: String, data: ByteArray?): Event = when (kind) {
            SUCCESS -> Success(task, json, data)
            FAIL -> Fail(task, json, data)
            HEADERS_RECEIVED -> HeadersReceived(task, json, data)
            PROGRESS -> Progress(task, json, data)
            CHUNK_RECEIVED -> ChunkReceived(task, json, data)
            SOCKET_OPEN -> SocketOpen(task, json, data)
            SOCKET_MESSAGE -> SocketMessage(task, json, data)
            SOCKET_ERROR -> SocketError(task, json, data)
            SOCKET_CLOSE -> SocketClose(task, json, data)
            else -> Other(task, kind, json, data)
        }
    }
}

/** Receives a task's events on the app's dispatcher thread, in order. */
fun interface EventListener {
    fun onEvent(event: Event)
}
