package com.wxnet

import com.wxnet.internal.EventSink
import com.wxnet.internal.Native
import java.io.File
import java.lang.ref.ReferenceQueue
import java.lang.ref.WeakReference
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * Object lifetimes across the JNI boundary: stale app handles, close() racing calls on other
 * threads, listeners that look at their app while it is being closed. Cases that could crash
 * the JVM run in a child JVM ([LifetimeChild]), so a crash fails the test instead of the run.
 */
class LifetimeTest {
    /**
     * A freed app's handle, passed again to the JNI functions (a second appFree, a call after
     * the free, a free after another app was created): WXNET_E_CLOSED, and the other app is
     * untouched. The JNI handle used to be the address of a Box freed by appFree, so a stale
     * handle read freed memory and a second appFree freed it again.
     */
    @Test
    fun staleHandlesAreRefusedNotFreedAgain() {
        val out = runChild("stale-handle")
        assertTrue(out.lines().contains("OK"), out)
    }

    /**
     * An [App] never closed: garbage-collected while its request streams events (the library
     * keeps its sink alive, so the events still arrive, and nothing is called through a freed
     * reference), and one left open with a request in flight when the JVM exits: the child
     * exits normally, no crash and no hang.
     */
    @Test
    fun anAppNeverClosedIsCollectedAndTheJvmStillExits() {
        val out = runChild("never-closed")
        assertTrue(out.lines().contains("OK"), out)
    }

    /**
     * A listener reading [App.isClosed] while close() runs on another thread: close() waits for
     * that listener (the terminal event of the task it aborts), so isClosed must not wait for
     * close(). It used to take the lock close() holds across the native free: a deadlock.
     */
    @Test
    fun isClosedFromAListenerDuringCloseDoesNotDeadlock() {
        val app = App(testConfig())
        val seen = AtomicReference<Boolean?>(null)
        val listenerRan = CountDownLatch(1)
        val started = CountDownLatch(1)
        app.request("""{"url":"${api("/hang")}"}""") { e ->
            if (e is Event.Fail) {
                seen.set(app.isClosed)
                listenerRan.countDown()
            }
        }
        val error = AtomicReference<Throwable?>(null)
        val closed = CountDownLatch(1)
        val closer = Thread {
            started.countDown()
            try {
                app.close()
            } catch (t: Throwable) {
                error.set(t)
            }
            closed.countDown()
        }.apply {
            isDaemon = true // stays stuck if the bug is back; must not keep the test JVM alive
            start()
        }
        assertTrue(started.await(10, TimeUnit.SECONDS))
        assertTrue(closed.await(20, TimeUnit.SECONDS), "close() deadlocked with a listener reading isClosed")
        assertTrue(listenerRan.await(0, TimeUnit.SECONDS))
        error.get()?.let { throw it }
        assertEquals(false, seen.get(), "close() had not completed while the listener ran")
        assertTrue(app.isClosed)
        closer.join(10_000)
    }

    /**
     * close() while 4 threads keep starting requests and calling setBackground /
     * resetConnections: every call either works or throws CLOSED, and every task that did
     * start got its terminal event before close() returned.
     */
    @Test
    fun closeRacingCallsOnOtherThreads() {
        repeat(5) { round ->
            val app = App(testConfig())
            val tasks = CopyOnWriteArrayList<Task>()
            val failures = CopyOnWriteArrayList<Throwable>()
            val enough = CountDownLatch(4 * 5)
            val done = CountDownLatch(4)
            repeat(4) { t ->
                Thread {
                    try {
                        var i = 0
                        while (true) {
                            try {
                                when ((i + t) % 3) {
                                    0 -> tasks.add(app.request("""{"url":"${api("/hang")}"}"""))
                                    1 -> app.setBackground(false)
                                    else -> app.resetConnections()
                                }
                            } catch (e: WxnetException) {
                                if (e.status != Status.CLOSED) failures.add(e)
                                break
                            }
                            i++
                            enough.countDown()
                        }
                    } catch (e: Throwable) {
                        failures.add(e)
                    } finally {
                        done.countDown()
                    }
                }.apply {
                    isDaemon = true
                    start()
                }
            }
            assertTrue(enough.await(20, TimeUnit.SECONDS), "round $round: the callers did not get going")
            app.close()
            assertTrue(done.await(20, TimeUnit.SECONDS), "round $round: a caller did not end after close()")
            assertTrue(failures.isEmpty(), "round $round: $failures")
            val open = tasks.filter { !it.isDone }
            assertTrue(open.isEmpty(), "round $round: ${open.size} of ${tasks.size} tasks never ended")
        }
    }

    /**
     * Loggers replaced while the library is calling them (a stream whose listener throws on
     * every event makes one WARN record per event): once setLogger returns, the old logger is
     * never called again, and every replaced logger is released (its global reference deleted,
     * so the JVM collects it) instead of piling up.
     */
    @Test
    fun replacedLoggersAreNeverCalledAgainAndAreReleased() {
        val violations = AtomicInteger()
        val queue = ReferenceQueue<Any>()
        val refs = ArrayList<WeakReference<Any>>()
        App(testConfig()).use { app ->
            val task = app.request("""{"url":"${api("/chunked?n=100000&size=16&interval_ms=1")}","enableChunked":true}""") {
                throw IllegalStateException("a log record")
            }
            var retiredPrevious: AtomicBoolean? = null
            try {
                repeat(20) {
                    val retired = AtomicBoolean(false)
                    val called = CountDownLatch(1)
                    val logger: (Int, String) -> Unit = { _, _ ->
                        if (retired.get()) violations.incrementAndGet()
                        called.countDown()
                    }
                    Wxnet.setLogger(Wxnet.LOG_WARN, logger)
                    retiredPrevious?.set(true)
                    retiredPrevious = retired
                    refs += WeakReference<Any>(logger, queue)
                    assertTrue(called.await(20, TimeUnit.SECONDS), "logger ${refs.size} was never called")
                }
            } finally {
                Wxnet.setLogger(Wxnet.LOG_WARN, null)
                retiredPrevious?.set(true)
                task.abort()
            }
        }
        assertEquals(0, violations.get(), "a replaced logger was called after setLogger returned")
        var released = 0
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
        while (released < refs.size) {
            if (System.nanoTime() > deadline) throw AssertionError("only $released of ${refs.size} replaced loggers were released")
            System.gc()
            if (queue.remove(100) != null) released++
        }
    }

    private fun runChild(case: String): String {
        val java = File(System.getProperty("java.home"), "bin/java").path
        val cmd = mutableListOf(java, "-Xcheck:jni", "-cp", System.getProperty("java.class.path"))
        for (p in listOf("java.library.path", "wxnet.library", "wxnet.testserver")) {
            System.getProperty(p)?.let { cmd += "-D$p=$it" }
        }
        cmd += listOf(LifetimeChild::class.java.name, case)
        val process = ProcessBuilder(cmd).redirectErrorStream(true).start()
        val output = StringBuilder()
        val reader = Thread { output.append(process.inputStream.bufferedReader().readText()) }.apply { start() }
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            throw AssertionError("child JVM ($case) did not finish in 60 s")
        }
        reader.join(10_000)
        val text = output.toString().trim()
        assertEquals(0, process.exitValue(), "child JVM ($case) exited with ${process.exitValue()}:\n$text")
        assertFalse(text.contains("WARNING in native method") || text.contains("FATAL ERROR"), text)
        return text
    }
}

/** Runs one crash-prone case of [LifetimeTest] in a JVM of its own; prints `OK` at the end. */
object LifetimeChild {
    private val sink = object : EventSink() {
        override fun onEvent(task: Long, kind: Int, token: Long, json: String, data: ByteArray?) {}
    }

    private fun newApp(): Long {
        val out = LongArray(1)
        check(Native.appNew("""{"appId":"wxlifetime"}""", sink, out) == Status.OK) { Native.lastError() }
        return out[0]
    }

    private fun expect(what: String, want: Int, got: Int) {
        if (want != got) throw AssertionError("$what: want $want, got $got (${Native.lastError()})")
    }

    /** Starts a 2,000-chunk stream on a new App and forgets the App (only a weak reference stays). */
    private fun streamFromAForgottenApp(queue: ReferenceQueue<App>, events: AtomicInteger, ended: CountDownLatch): WeakReference<App> {
        val app = App(testConfig())
        app.request("""{"url":"${api("/chunked?n=2000&size=1024&interval_ms=1")}","enableChunked":true}""") { e ->
            events.incrementAndGet()
            if (e is Event.Success || e is Event.Fail) ended.countDown()
        }
        return WeakReference(app, queue)
    }

    @JvmStatic
    fun main(args: Array<String>) {
        when (args.single()) {
            "stale-handle" -> {
                repeat(20) { i ->
                    val stale = newApp()
                    expect("free #$i", Status.OK, Native.appFree(stale))
                    expect("second free #$i", Status.CLOSED, Native.appFree(stale))
                    expect("setBackground after free #$i", Status.CLOSED, Native.appSetBackground(stale, true))
                    expect("resetConnections after free #$i", Status.CLOSED, Native.appResetConnections(stale))
                    val start = Native.request(stale, """{"url":"https://a.example/"}""", null, 1)
                    expect("request after free #$i", Status.CLOSED, start.toInt())
                    // Another app now: the stale handle must not name it.
                    val other = newApp()
                    expect("free of the stale handle beside a new app #$i", Status.CLOSED, Native.appFree(stale))
                    expect("the new app still works #$i", Status.OK, Native.appSetBackground(other, false))
                    expect("free of the new app #$i", Status.OK, Native.appFree(other))
                }
            }
            "never-closed" -> {
                val events = AtomicInteger()
                val ended = CountDownLatch(1)
                val queue = ReferenceQueue<App>()
                val ref = streamFromAForgottenApp(queue, events, ended)
                val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
                while (queue.remove(100) == null) {
                    if (System.nanoTime() > deadline) throw AssertionError("the App was never collected")
                    System.gc()
                }
                check(ref.get() == null)
                if (!ended.await(60, TimeUnit.SECONDS)) throw AssertionError("no terminal event after ${events.get()} events")
                // Another app, left open with a request in flight when main returns.
                App(testConfig()).request("""{"url":"${api("/hang")}"}""")
            }
            else -> throw IllegalArgumentException(args.single())
        }
        println("OK")
    }
}
