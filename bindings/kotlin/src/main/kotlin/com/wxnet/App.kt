package com.wxnet

import com.wxnet.internal.EventSink
import com.wxnet.internal.Native
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executor
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

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
 *   a task gets the event delivered on the dispatcher thread instead. At most 4 MiB of events
 *   wait for the executor: past that the dispatcher waits for it, which slows the app's
 *   transfers down instead of growing memory ([close] lifts that wait).
 * @throws WxnetException [Status.INVALID_CONFIG] with the offending field in [WxnetException.detail].
 */
class App internal constructor(configJson: String, private val serial: SerialExecutor?) : AutoCloseable {
    @JvmOverloads
    constructor(configJson: String, callbackExecutor: Executor? = null) : this(configJson, callbackExecutor?.let { SerialExecutor(it) })

    private val tasks = ConcurrentHashMap<Long, Task>()
    private val sink = Sink(tasks, serial)
    private val handle: Long
    private val nextToken = AtomicInteger()

    /**
     * Calls using [handle] right now; [close] waits for them to finish before freeing, so a task
     * started concurrently with [close] is one [close] aborts (and delivers the end of). A call
     * after the free would be safe anyway: the handle is generation-checked, a stale one gives
     * [Status.CLOSED].
     */
    private val inFlight = AtomicInteger()
    @Volatile private var closing = false

    /** Written under [closeLock], read without it (listeners read it while [close] holds the lock). */
    @Volatile private var closed = false
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

    /**
     * The device's network changed (Wi-Fi to cellular, a VPN; e.g. from a
     * `ConnectivityManager.NetworkCallback`): every pooled connection of the app is
     * dropped and later requests connect anew. Requests in flight finish on their
     * connections; sockets, cookies and learned Alt-Svc are kept. Any thread; no event follows.
     */
    fun resetConnections() = withHandle { Wxnet.check(Native.appResetConnections(it), "resetConnections") }

    /**
     * Whether [close] completed. Never waits: `false` in the listeners that [close] runs
     * (terminal events of the tasks it aborts), as it has not completed yet.
     */
    val isClosed: Boolean get() = closed

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
            // close() may run on the executor's thread: the dispatcher must not wait for it.
            serial?.unbound()
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
    private class Sink(private val tasks: ConcurrentHashMap<Long, Task>, private val executor: SerialExecutor?) : EventSink() {
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
                executor.execute({ target.deliver(event) }, SerialExecutor.sizeOf(json, data))
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
 * run yet: at most [maxQueuedBytes] of them (as the library counts an event: JSON + data +
 * 128), unless the queue is empty (one larger event passes alone). When it is full, [execute]
 * waits for the executor to run some: the dispatcher then stops taking events, the library's
 * own queue fills, and its transfers stop reading their sockets. So a slow executor slows the
 * server down instead of growing memory. [unbound] (the app is closing) ends every wait. If
 * [target] rejects (shut down), the queued tasks run on the calling thread.
 */
internal class SerialExecutor(private val target: Executor, private val maxQueuedBytes: Long = DEFAULT_MAX_QUEUED_BYTES) :
    Executor {
    private class Item(val run: Runnable, val bytes: Long)

    private val lock = ReentrantLock()
    private val room = lock.newCondition()
    private val queue = ArrayDeque<Item>()
    private var scheduled = false
    private var queuedBytes = 0L
    private var unbounded = false

    /** The most [queuedBytes] ever held (for the tests). */
    @Volatile var highWaterBytes = 0L
        private set

    /** Bytes queued and not run yet (for the tests). */
    val queued: Long get() = lock.withLock { queuedBytes }

    override fun execute(r: Runnable) = execute(r, 0)

    /** Queues [r], an event of [bytes]; waits while the queue is full (see the class). */
    fun execute(r: Runnable, bytes: Long) {
        lock.withLock {
            while (!unbounded && queue.isNotEmpty() && queuedBytes + bytes > maxQueuedBytes) room.await()
            queue.addLast(Item(r, bytes))
            queuedBytes += bytes
            if (queuedBytes > highWaterBytes) highWaterBytes = queuedBytes
            if (scheduled) return
            scheduled = true
        }
        schedule()
    }

    /** From now on [execute] never waits: the app is closing, and close() may run on the executor's thread. */
    fun unbound() = lock.withLock {
        unbounded = true
        room.signalAll()
    }

    private fun take(): Item? = lock.withLock {
        val item = queue.removeFirstOrNull()
        if (item == null) {
            scheduled = false
        } else {
            queuedBytes -= item.bytes
            room.signalAll()
        }
        item
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
            val item = take() ?: return
            try {
                item.run.run()
            } catch (e: Exception) {
                // A listener's exception with no executor left to report it to: dropped, as
                // the next events must still be delivered.
            }
        }
    }

    private fun runOne() {
        val item = take() ?: return
        try {
            item.run.run()
        } finally {
            val more = lock.withLock {
                scheduled = queue.isNotEmpty()
                scheduled
            }
            if (more) schedule()
        }
    }

    companion object {
        /** Default [maxQueuedBytes]: 4 MiB, as the library's `maxQueuedEventBytes`. */
        const val DEFAULT_MAX_QUEUED_BYTES = 4L * 1024 * 1024

        /** What an event counts for, as the library counts it. */
        fun sizeOf(json: String, data: ByteArray?): Long = json.length.toLong() + (data?.size ?: 0) + 128
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
