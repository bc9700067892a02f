package com.wxnet

import com.wxnet.internal.EventSink
import com.wxnet.internal.Native
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executor
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.atomic.AtomicInteger

/**
 * One mini-program instance: its config (domain lists, timeouts, sandbox dirs, limits), its
 * tasks and its event delivery. Events of all its tasks arrive on one library thread (the
 * app's dispatcher, attached to the JVM as a daemon), one at a time and in order; listeners
 * may call any method from there except [close].
 *
 * [close] it (`use { }`): it aborts every task, delivers their terminal events, and releases
 * the native app. An app that is never closed keeps its native resources until the process
 * ends.
 *
 * @param configJson the app config JSON (see the C ABI contract); `appId` is required.
 * @param callbackExecutor where listeners run and flows/awaits are fed. `null` (the default):
 *   on the app's dispatcher thread, as described above. Otherwise each event is handed to
 *   this executor, one at a time and in order per app (e.g. Android's main thread:
 *   `ContextCompat.getMainExecutor(context)`, or a coroutine dispatcher:
 *   `Dispatchers.Main.asExecutor()`). Then an exception a listener throws goes to the
 *   executor, as any `Runnable`'s would; [close] returns once every terminal event was handed
 *   to it (not necessarily run yet); `await()` resumes after the listener saw the terminal
 *   event, so do not block the executor's thread waiting on a task. An executor that rejects
 *   a task gets the event delivered on the dispatcher thread instead.
 * @throws WxnetException [Status.INVALID_CONFIG] with the offending field in [WxnetException.detail].
 */
class App @JvmOverloads constructor(configJson: String, callbackExecutor: Executor? = null) : AutoCloseable {
    private val tasks = ConcurrentHashMap<Long, Task>()
    private val sink = Sink(tasks, callbackExecutor?.let { SerialExecutor(it) })
    private val handle: Long
    private val nextToken = AtomicInteger()

    /** Calls using [handle] right now; [close] waits for them to finish before freeing. */
    private val inFlight = AtomicInteger()
    @Volatile private var closing = false
    private var closed = false
    private val closeLock = Any()

    init {
        val out = LongArray(1)
        val s = Native.appNew(configJson, sink, out)
        if (s != Status.OK) throw WxnetException.last(s, "App")
        handle = out[0]
    }

    /** Starts a wx.request; [body] is an ArrayBuffer `data` (sent as is) or `null`. */
    @JvmOverloads
    fun request(options: String, body: ByteArray? = null, listener: EventListener? = null): RequestTask =
        start(RequestTask(listener)) { h, token -> Native.request(h, options, body, token) }

    /** Starts a wx.uploadFile (`filePath` a sandbox path such as `wxfile://usr/a.bin`). */
    @JvmOverloads
    fun uploadFile(options: String, listener: EventListener? = null): UploadTask =
        start(UploadTask(listener)) { h, token -> Native.uploadFile(h, options, token) }

    /** Starts a wx.downloadFile. */
    @JvmOverloads
    fun downloadFile(options: String, listener: EventListener? = null): DownloadTask =
        start(DownloadTask(listener)) { h, token -> Native.downloadFile(h, options, token) }

    /**
     * Starts a wx.connectSocket. Events go to [listener] (if any) and, with [withFlow] (the
     * default when there is no listener), also to [SocketTask.events]: both see every event.
     * The flow keeps at most [maxBufferedMessages] uncollected messages and [maxBufferedBytes]
     * of their payload (see [SocketTask.events]); each must be at least 1, else
     * [IllegalArgumentException].
     */
    @JvmOverloads
    fun connectSocket(
        options: String,
        listener: EventListener? = null,
        withFlow: Boolean = listener == null,
        maxBufferedMessages: Int = SocketTask.DEFAULT_MAX_BUFFERED_MESSAGES,
        maxBufferedBytes: Long = SocketTask.DEFAULT_MAX_BUFFERED_BYTES,
    ): SocketTask {
        require(maxBufferedMessages >= 1) { "maxBufferedMessages must be at least 1, not $maxBufferedMessages" }
        require(maxBufferedBytes >= 1) { "maxBufferedBytes must be at least 1, not $maxBufferedBytes" }
        return start(SocketTask(listener, withFlow, maxBufferedMessages, maxBufferedBytes)) { h, token ->
            Native.connectSocket(h, options, token)
        }
    }

    /** The app went to the background (`true`) or came back (`false`). */
    fun setBackground(background: Boolean) = withHandle { Wxnet.check(Native.appSetBackground(it, background), "setBackground") }

    /** Whether [close] completed. */
    val isClosed: Boolean get() = synchronized(closeLock) { closed }

    /**
     * Frees the app: aborts every task, returns once their terminal events were delivered and
     * no listener of this app runs any more. Idempotent. From inside one of this app's
     * listeners: [WxnetException] with [Status.WOULD_DEADLOCK] (nothing happens). Calls made
     * while it runs (from other threads or from listeners) throw [Status.CLOSED].
     */
    override fun close() {
        if (Thread.currentThread() === sink.thread) {
            throw WxnetException(Status.WOULD_DEADLOCK, "App.close() called from inside one of its own listeners")
        }
        synchronized(closeLock) {
            if (closed) return
            closing = true
            // Calls that got past the `closing` check finish quickly (starts never block).
            while (inFlight.get() != 0) Thread.onSpinWait()
            val s = Native.appFree(handle)
            if (s != Status.OK) {
                closing = false
                throw WxnetException.last(s, "close")
            }
            closed = true
            tasks.clear()
        }
    }

    private inline fun <R> withHandle(block: (Long) -> R): R {
        inFlight.incrementAndGet()
        try {
            if (closing) throw WxnetException(Status.CLOSED, "the app is closed")
            return block(handle)
        } finally {
            inFlight.decrementAndGet()
        }
    }

    private inline fun <T : Task> start(task: T, native: (handle: Long, token: Long) -> Long): T {
        val token = register(task)
        var ok = false
        try {
            val r = withHandle { native(it, token) }
            if (r < 0) throw WxnetException.last(r.toInt(), task.api.wxName)
            task.id = r
            ok = true
            return task
        } finally {
            if (!ok) tasks.remove(token)
        }
    }

    /** A token (passed as the task's user data, returned with each event) not in use. */
    private fun register(task: Task): Long {
        while (true) {
            // Positive and within 31 bits, so it survives a 32-bit `void *` on armeabi-v7a.
            val token = (nextToken.incrementAndGet() and Int.MAX_VALUE).toLong()
            if (token != 0L && tasks.putIfAbsent(token, task) == null) return token
        }
    }

    /** Routes the library's events to tasks. Holds no reference to the [App]. */
    private class Sink(private val tasks: ConcurrentHashMap<Long, Task>, private val executor: Executor?) : EventSink() {
        /** The dispatcher thread (one per app; attached once, so always the same object). */
        @Volatile var thread: Thread? = null

        override fun onEvent(task: Long, kind: Int, token: Long, json: String, data: ByteArray?) {
            if (thread == null) {
                val t = Thread.currentThread()
                if (t.name.startsWith("Thread-")) t.name = "wxnet-dispatch"
                thread = t
            }
            val target = tasks[token] ?: return
            val event = Event.of(task, kind, json, data)
            if (executor != null) {
                if (target.isTerminal(event)) tasks.remove(token)
                executor.execute { target.deliver(event) }
                return
            }
            var last = target.isTerminal(event)
            try {
                last = target.deliver(event)
            } finally {
                if (last) tasks.remove(token)
            }
        }
    }
}

/**
 * Runs the tasks given to it one at a time, in order, on [target] (any executor, a thread
 * pool included), handing over one task per `execute` so a shared thread (a UI thread) is not
 * monopolised. Its queue holds the events the dispatcher handed over and the executor has not
 * run yet. If [target] rejects (shut down), the queued tasks run on the calling thread.
 */
internal class SerialExecutor(private val target: Executor) : Executor {
    private val queue = ArrayDeque<Runnable>()
    private var scheduled = false

    override fun execute(r: Runnable) {
        synchronized(this) {
            queue.addLast(r)
            if (scheduled) return
            scheduled = true
        }
        schedule()
    }

    private fun schedule() {
        try {
            target.execute(::runOne)
        } catch (e: RejectedExecutionException) {
            drainHere()
        }
    }

    /** The executor refused (shut down): run what is queued on this thread, in order. */
    private fun drainHere() {
        while (true) {
            val r = synchronized(this) { queue.removeFirstOrNull().also { if (it == null) scheduled = false } } ?: return
            try {
                r.run()
            } catch (e: Exception) {
                // A listener's exception with no executor left to report it to: dropped, as
                // the next events must still be delivered.
            }
        }
    }

    private fun runOne() {
        val r = synchronized(this) { queue.removeFirstOrNull().also { if (it == null) scheduled = false } } ?: return
        try {
            r.run()
        } finally {
            val more = synchronized(this) {
                scheduled = queue.isNotEmpty()
                scheduled
            }
            if (more) schedule()
        }
    }
}

/** Starts a wx.request and suspends until its typed success result; [WxFailException] on fail; cancel aborts. */
suspend fun App.awaitRequest(options: String, body: ByteArray? = null, listener: EventListener? = null): RequestResult =
    request(options, body, listener).await()

/** Starts a wx.uploadFile and suspends until its typed success result; [WxFailException] on fail; cancel aborts. */
suspend fun App.awaitUploadFile(options: String, listener: EventListener? = null): UploadResult =
    uploadFile(options, listener).await()

/** Starts a wx.downloadFile and suspends until its typed success result; [WxFailException] on fail; cancel aborts. */
suspend fun App.awaitDownloadFile(options: String, listener: EventListener? = null): DownloadResult =
    downloadFile(options, listener).await()
