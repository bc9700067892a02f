package com.wxnet

import java.io.ByteArrayOutputStream
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Progress and socket flows next to listeners, and listeners on a host executor; real sockets. */
class FlowTest {
    private val wsPath = System.getProperty("wxnet.ws.path", "/ws/echo")

    private fun assertProgressFlow(seen: List<TransferProgress>, fromListener: List<Event>) {
        assertTrue(seen.isNotEmpty(), "the flow saw progress")
        assertEquals(seen.map { it.progress }.sorted(), seen.map { it.progress }, "never goes back: $seen")
        assertEquals(seen.map { it.bytesDone }.sorted(), seen.map { it.bytesDone }, "never goes back: $seen")
        val last = seen.last()
        assertEquals(100, last.progress)
        assertEquals(last.bytesExpected, last.bytesDone)
        // The listener got the same updates (the flow may skip some: it is conflated).
        val listened = fromListener.filterIsInstance<Event.Progress>().map { it.toTransferProgress() }
        assertEquals(listened.last(), last)
        assertTrue(listened.containsAll(seen), "every flow value is one the listener saw")
    }

    @Test
    fun uploadProgressAsAFlowAlongsideTheListener(): Unit = runBlocking {
        val sandbox = Sandbox()
        App(testConfig(sandbox)).use { app ->
            val size = 3 * 1024 * 1024
            File(sandbox.usr, "up.bin").writeBytes(ByteArray(size) { (it % 13).toByte() })
            val rec = Recorder()
            val task = app.uploadFile(
                """{"url":"https://up.wxnet.test/upload","filePath":"wxfile://usr/up.bin","name":"file"}""", rec,
            )
            val seen = async(start = CoroutineStart.UNDISPATCHED) { task.progress.toList() }
            val ok = withTimeout(60_000) { task.await() }
            assertEquals(200, ok.statusCode)
            val values = withTimeout(10_000) { seen.await() } // the flow ended with the task
            assertProgressFlow(values, rec.events)
            assertTrue(values.last().bytesDone >= size, values.last().toString())
            // A collector that starts after the end gets the last update and completes.
            assertEquals(listOf(values.last()), withTimeout(5_000) { task.progress.toList() })
        }
    }

    @Test
    fun downloadProgressFlowEndsOnSuccessAndOnFail(): Unit = runBlocking {
        val sandbox = Sandbox()
        App(testConfig(sandbox)).use { app ->
            val n = 2 * 1024 * 1024
            val rec = Recorder()
            val task = app.downloadFile("""{"url":"https://cdn.wxnet.test/bytes/$n"}""", rec)
            val first = async(start = CoroutineStart.UNDISPATCHED) { task.progress.toList() }
            val second = async(start = CoroutineStart.UNDISPATCHED) { task.progress.toList() }
            withTimeout(60_000) { task.await() }
            val a = withTimeout(10_000) { first.await() }
            assertProgressFlow(a, rec.events)
            assertEquals(n.toLong(), a.last().bytesExpected)
            assertEquals(a.last(), withTimeout(10_000) { second.await() }.last(), "two collectors, same end")

            // Aborted: the flow ends too (the failure itself comes from await()).
            val slow = app.downloadFile("""{"url":"https://cdn.wxnet.test/bytes/${16 * 1024 * 1024}?rate_kbps=256"}""")
            val flowDone = async(start = CoroutineStart.UNDISPATCHED) { slow.progress.toList() }
            withTimeout(20_000) { slow.progress.first { it.bytesDone > 0 } }
            slow.abort()
            val e = assertThrows(WxFailException::class.java) { runBlocking { withTimeout(10_000) { slow.await() } } }
            assertEquals(603105L, e.errno)
            val partial = withTimeout(10_000) { flowDone.await() }
            assertTrue(partial.isNotEmpty() && partial.last().progress < 100, partial.toString())
        }
    }

    @Test
    fun socketFlowAndListenerBothSeeEveryEvent(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val fromListener = CopyOnWriteArrayList<Event>()
            val opened = CompletableDeferred<Unit>()
            val socket = app.connectSocket("""{"url":"wss://ws.wxnet.test$wsPath"}""", { ev ->
                fromListener.add(ev)
                if (ev is Event.SocketOpen) opened.complete(Unit)
            }, withFlow = true)
            val fromFlow = ArrayList<Event>()
            val collector = launch {
                socket.events.collect { ev ->
                    fromFlow.add(ev)
                    if (fromFlow.count { it is Event.SocketMessage } == 2 && ev is Event.SocketMessage) socket.close(1000, "bye")
                }
            }
            withTimeout(20_000) {
                opened.await()
                socket.send("to both")
                socket.send(byteArrayOf(9, 8, 7))
                collector.join()
            }
            assertEquals(fromListener.toList(), fromFlow, "the same event objects, in the same order")
            val messages = fromFlow.filterIsInstance<Event.SocketMessage>()
            assertEquals("to both", messages[0].text())
            assertArrayEquals(byteArrayOf(9, 8, 7), messages[1].data)
            assertInstanceOf(Event.SocketClose::class.java, fromFlow.last())

            // With a listener and no flow asked for, `events` says so.
            val listenerOnly = app.connectSocket("""{"url":"wss://ws.wxnet.test$wsPath"}""", Recorder())
            assertThrows(IllegalStateException::class.java) { listenerOnly.events }
            listenerOnly.abort()
        }
    }

    @Test
    fun listenersRunOnTheGivenExecutorOneAtATimeInOrder(): Unit = runBlocking {
        // A pool of 4 threads: the app must still run one event at a time, in order.
        val reported = CopyOnWriteArrayList<Throwable>()
        val pool = Executors.newFixedThreadPool(4) { r ->
            Thread(r, "host-callbacks").apply {
                isDaemon = true
                setUncaughtExceptionHandler { _, e -> reported.add(e) }
            }
        }
        try {
            App(testConfig(), pool).use { app ->
                val threads = CopyOnWriteArrayList<String>()
                val running = AtomicInteger()
                var overlapped = false
                val body = ByteArrayOutputStream()
                val kinds = ArrayList<Int>()
                val n = 500
                val ok = withTimeout(60_000) {
                    app.awaitRequest("""{"url":"${api("/chunked?n=$n&size=64&interval_ms=0")}","enableChunked":true}""") { ev ->
                        if (running.incrementAndGet() != 1) overlapped = true
                        threads.add(Thread.currentThread().name)
                        kinds.add(ev.kind)
                        if (ev is Event.ChunkReceived) body.write(ev.data!!)
                        running.decrementAndGet()
                    }
                }
                assertEquals(200, ok.statusCode)
                assertTrue(!overlapped, "never two events of one app at once")
                assertEquals(setOf("host-callbacks"), threads.toSet())
                assertEquals(Event.HEADERS_RECEIVED, kinds.first())
                assertEquals(Event.SUCCESS, kinds.last(), "await resumed after the listener saw the terminal event")
                val alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toByteArray()
                val bytes = body.toByteArray()
                assertEquals(n * 64, bytes.size)
                assertTrue(bytes.withIndex().all { (i, b) -> b == alphabet[i % alphabet.size] }, "chunks in order")

                // A listener that throws: the executor gets the exception; the task still ends.
                val after = app.request("""{"url":"${api("/json")}"}""") { throw IllegalStateException("boom on the executor") }
                assertEquals(200, withTimeout(20_000) { after.await() }.statusCode)
                eventually(5_000, "the executor to see the listener's exceptions") { reported.size == 2 }
                assertTrue(reported.all { it.message == "boom on the executor" }, reported.toString())
                // Flows are fed on the executor too.
                val socket = app.connectSocket("""{"url":"wss://ws.wxnet.test$wsPath"}""")
                val firstTwo = withTimeout(20_000) { socket.events.take(2).toList() }
                assertInstanceOf(Event.SocketOpen::class.java, firstTwo[1])
                socket.close()
            }
        } finally {
            pool.shutdown()
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS))
        }
    }

    @Test
    fun anExecutorThatRejectsStillGetsEveryEventDelivered(): Unit = runBlocking {
        val pool = Executors.newSingleThreadExecutor()
        pool.shutdown() // rejects everything
        App(testConfig(), pool).use { app ->
            val rec = Recorder()
            val ok = withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/json")}"}""", listener = rec) }
            assertEquals(200, ok.statusCode)
            assertEquals(listOf(Event.HEADERS_RECEIVED, Event.SUCCESS), rec.events.map { it.kind })
        }
    }

    @Test
    fun aBusyExecutorSlowsTheServerInsteadOfGrowingTheQueue(): Unit = runBlocking {
        val gate = CountDownLatch(1)
        val pool = Executors.newSingleThreadExecutor()
        pool.execute { gate.await(60, TimeUnit.SECONDS) } // the executor's only thread is busy until the gate opens
        val limit = 1024L * 1024
        val serial = SerialExecutor(pool, limit)
        try {
            App(testConfig(), serial).use { app ->
                val received = AtomicInteger()
                val bytes = AtomicLong()
                val socket = startOrSkip("connectSocket") {
                    app.connectSocket("""{"url":"wss://ws.wxnet.test/ws/push?n=200&size=65536"}""", listener = { ev ->
                        if (ev is Event.SocketMessage) {
                            received.incrementAndGet()
                            bytes.addAndGet(ev.data!!.size.toLong())
                        }
                    })
                }
                // The server pushes 12.5 MiB; the dispatcher stops at the limit and waits.
                eventually(20_000, "the executor's queue to fill") { serial.queued > limit - 70 * 1024 }
                assertEquals(0, received.get(), "nothing ran on the busy executor")
                gate.countDown()
                eventually(30_000, "all 200 messages") { received.get() == 200 }
                assertEquals(200L * 65536, bytes.get())
                assertTrue(serial.highWaterBytes <= limit, "the queue held ${serial.highWaterBytes} bytes, over $limit")
                socket.close()
                assertInstanceOf(Event.SocketClose::class.java, withTimeout(20_000) { socket.awaitTerminal() })
            }
        } finally {
            gate.countDown()
            pool.shutdown()
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS))
        }
    }

    @Test
    fun closeOnTheExecutorsThreadWhileTheDispatcherWaitsForRoom(): Unit = runBlocking {
        // The dispatcher waits for a full queue that only the executor's thread drains, and
        // that thread calls close(): close must lift the limit, not deadlock.
        val pool = Executors.newSingleThreadExecutor()
        val serial = SerialExecutor(pool, 256L * 1024)
        val app = App(testConfig(), serial)
        val closed = CompletableDeferred<Unit>()
        try {
            val socket = startOrSkip("connectSocket") {
                app.connectSocket("""{"url":"wss://ws.wxnet.test/ws/push?n=200&size=65536"}""", listener = { _ -> })
            }
            val gate = CountDownLatch(1)
            pool.execute { gate.await(60, TimeUnit.SECONDS) }
            eventually(20_000, "the executor's queue to fill") { serial.queued > 256L * 1024 - 70 * 1024 }
            pool.execute {
                app.close()
                closed.complete(Unit)
            }
            gate.countDown()
            withTimeout(20_000) { closed.await() }
            assertTrue(app.isClosed)
            // Handed to the executor before close() returned; run after it, on that thread.
            assertInstanceOf(Event.SocketClose::class.java, withTimeout(20_000) { socket.awaitTerminal() })
        } finally {
            pool.shutdown()
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS))
        }
    }
}
