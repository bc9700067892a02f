package com.wxnet

import com.wxnet.internal.Native
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.transformWhile

/** The four wx network APIs. */
enum class Api(val wxName: String) {
    REQUEST("request"),
    UPLOAD_FILE("uploadFile"),
    DOWNLOAD_FILE("downloadFile"),
    CONNECT_SOCKET("connectSocket"),
}

/**
 * A started task. Its events go to the listener given at start (on the app's dispatcher
 * thread, in order); it gets exactly one terminal event, after which it is [isDone].
 */
sealed class Task(val api: Api, private val listener: EventListener?) {
    /** The task id (never 0, never reused). */
    @Volatile
    var id: Long = 0
        internal set

    private val terminal = CompletableDeferred<Event>()

    /** Whether the terminal event was delivered. */
    open val isDone: Boolean get() = terminal.isCompleted

    /**
     * Aborts the task: it ends with FAIL `…:fail abort` (a socket closes with 1000) unless it
     * had already ended. Never blocks, idempotent, any thread (listeners included); a no-op
     * after the task ended or its app was closed.
     */
    fun abort() {
        val s = Native.taskAbort(id)
        if (s != Status.OK && s != Status.UNKNOWN_TASK) throw WxnetException.last(s, "abort")
    }

    /** Suspends until the terminal event; cancelling the caller aborts the task. */
    suspend fun awaitTerminal(): Event = try {
        terminal.await()
    } catch (e: CancellationException) {
        if (!terminal.isCompleted) abort()
        throw e
    }

    internal open fun isTerminal(e: Event) = e is Event.Success || e is Event.Fail

    /** Task-side bookkeeping before the listener runs. */
    internal open fun onEvent(e: Event) {}

    /** Task-side bookkeeping after the listener ran (even when it threw). */
    internal open fun afterListener(e: Event) {}

    /** Called by the app's sink; returns whether [e] was terminal. */
    internal fun deliver(e: Event): Boolean {
        if (id == 0L) id = e.taskId
        val last = isTerminal(e)
        try {
            onEvent(e)
            listener?.onEvent(e)
        } finally {
            // Even when the listener throws (the library, or the app's executor, gets it).
            try {
                afterListener(e)
            } finally {
                if (last) terminal.complete(e)
            }
        }
        return last
    }

    internal suspend fun awaitSuccess(): Event.Success = when (val e = awaitTerminal()) {
        is Event.Success -> e
        is Event.Fail -> throw WxFailException(e)
        else -> throw IllegalStateException("unexpected terminal event $e")
    }
}

/** A wx.request. */
class RequestTask internal constructor(listener: EventListener?) : Task(Api.REQUEST, listener) {
    /** The typed success result (body in `data`); throws [WxFailException] on fail; cancel aborts. */
    suspend fun await(): RequestResult = RequestResult(awaitSuccess())
}

/** An upload or a download: progress as a [Flow] besides the listener's [Event.Progress]. */
sealed class TransferTask(api: Api, listener: EventListener?) : Task(api, listener) {
    private class State(val progress: TransferProgress?, val done: Boolean)

    private val state = MutableStateFlow(State(null, false))

    /**
     * The progress updates, ending when the task ends (success or fail: see `await()` for
     * which). Any number of collectors, at any time, each with or without a listener: a
     * collector starts with the latest update and is conflated (a slow one skips to the
     * newest), so it always sees the last update before the end (100 after a success).
     */
    val progress: Flow<TransferProgress> =
        state.transformWhile { s ->
            s.progress?.let { emit(it) }
            !s.done
        }.distinctUntilChanged()

    override fun onEvent(e: Event) {
        if (e is Event.Progress) state.value = State(e.toTransferProgress(), false)
        if (isTerminal(e)) state.value = State(state.value.progress, true)
    }
}

/** A wx.uploadFile. */
class UploadTask internal constructor(listener: EventListener?) : TransferTask(Api.UPLOAD_FILE, listener) {
    /** The typed success result (the server's answer in `data`); throws [WxFailException] on fail; cancel aborts. */
    suspend fun await(): UploadResult = UploadResult(awaitSuccess())
}

/** A wx.downloadFile. */
class DownloadTask internal constructor(listener: EventListener?) : TransferTask(Api.DOWNLOAD_FILE, listener) {
    /** The typed success result (`tempFilePath` or `filePath`); throws [WxFailException] on fail; cancel aborts. */
    suspend fun await(): DownloadResult = DownloadResult(awaitSuccess())
}

/**
 * A wx.connectSocket. Events: [Event.Success] (`connectSocket:ok`, not terminal) or
 * [Event.Fail] (terminal: rejected), then open / message / error and exactly one
 * [Event.SocketClose] (terminal).
 *
 * With [withFlow] (the default when there is no listener) every event also goes to [events],
 * after the listener saw it, so a listener and a collector both see every message. The flow
 * keeps at most [maxBufferedMessages] uncollected messages and [maxBufferedBytes] of their
 * payload (one larger message passes alone); see [events] for what happens past that.
 */
class SocketTask internal constructor(
    listener: EventListener?,
    withFlow: Boolean,
    val maxBufferedMessages: Int,
    val maxBufferedBytes: Long,
) : Task(Api.CONNECT_SOCKET, listener) {
    // Unlimited as a channel; bounded by the counts below, kept under [bufferLock].
    private val channel: Channel<Event>? = if (withFlow) Channel(Channel.UNLIMITED) else null
    private val bufferLock = Any()
    private var bufferedMessages = 0
    private var bufferedBytes = 0L

    /** Set on the delivering thread (one event at a time): nothing after it goes to [channel]. */
    private var overflowed = false

    /**
     * The socket's events as a hot flow for one collector, ending after the terminal event.
     * Events are buffered from the start until collected, so nothing is missed by a collector
     * that starts late; cancelling the collection does not close the socket.
     *
     * Bounded: a message that would make more than [maxBufferedMessages] messages or
     * [maxBufferedBytes] payload bytes wait for the collector (unless none waits) means the
     * collector did not keep up. The socket is then aborted instead of buffering without
     * bound: the flow emits the events buffered before that message and then throws
     * [SocketFlowOverflowException]; nothing after it is kept (a listener still sees every
     * event, and [awaitTerminal] the close).
     *
     * Only for sockets started with the flow (`connectSocket(..., withFlow = true)`, the
     * default without a listener): otherwise [IllegalStateException].
     */
    val events: Flow<Event>
        get() = (channel ?: throw IllegalStateException("this socket was started with a listener and withFlow = false"))
            .receiveAsFlow()
            .onEach { if (it is Event.SocketMessage) taken(it) }

    override fun isTerminal(e: Event) = e is Event.Fail || e is Event.SocketClose

    /** Set before the flow ends, so a collector that saw the end sees [isDone]. */
    @Volatile private var ended = false

    override val isDone: Boolean get() = ended || super.isDone

    override fun afterListener(e: Event) {
        if (channel != null && !overflowed) {
            val overflow = if (e is Event.SocketMessage) admit(e) else null
            if (overflow == null) {
                channel.trySend(e)
            } else {
                overflowed = true
                abort()
                channel.close(overflow)
            }
        }
        if (isTerminal(e)) {
            ended = true
            channel?.close()
        }
    }

    /** Null: [e] may be buffered (and is counted). Else the overflow it causes. */
    private fun admit(e: Event): SocketFlowOverflowException? = synchronized(bufferLock) {
        val size = e.data?.size ?: 0
        val fits = bufferedMessages + 1 <= maxBufferedMessages && bufferedBytes + size <= maxBufferedBytes
        if (bufferedMessages == 0 || fits) {
            bufferedMessages += 1
            bufferedBytes += size
            return null
        }
        SocketFlowOverflowException(bufferedMessages, bufferedBytes, maxBufferedMessages, maxBufferedBytes)
    }

    private fun taken(e: Event) = synchronized(bufferLock) {
        bufferedMessages -= 1
        bufferedBytes -= e.data?.size ?: 0
    }

    internal companion object {
        /** Default [maxBufferedMessages]. */
        const val DEFAULT_MAX_BUFFERED_MESSAGES = 4096

        /** Default [maxBufferedBytes]: 16 MiB. */
        const val DEFAULT_MAX_BUFFERED_BYTES = 16L * 1024 * 1024
    }

    /** Sends a text frame. Not open: [WxnetException] with [Status.INVALID_STATE]. */
    fun send(text: String) = send(text.toByteArray(Charsets.UTF_8), binary = false)

    /** Sends a binary frame. */
    fun send(data: ByteArray) = send(data, binary = true)

    private fun send(data: ByteArray, binary: Boolean) =
        Wxnet.check(Native.socketSend(id, data, binary), "send")

    /** Closes with [code] (1000 or 3000-4999) and [reason] (at most 123 UTF-8 bytes). */
    fun close(code: Int = 1000, reason: String = "") =
        Wxnet.check(Native.socketClose(id, code, reason), "close")
}
