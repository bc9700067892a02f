package com.wxnet

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** connectSocket echo through the Flow API; skipped while the library does not implement sockets. */
class SocketTest {
    /** The test server's WSS echo route (system property `wxnet.ws.path`). */
    private val wsPath = System.getProperty("wxnet.ws.path", "/ws/echo")

    @Test
    fun socketEchoAsAFlow(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val socket = startOrSkip("connectSocket") { app.connectSocket("""{"url":"wss://ws.wxnet.test$wsPath"}""") }
            val opened = CompletableDeferred<Unit>()
            val events = ArrayList<Event>()
            val collector = launch {
                socket.events.collect { ev ->
                    events.add(ev)
                    if (ev is Event.SocketOpen) opened.complete(Unit)
                    if (events.count { it is Event.SocketMessage } == 2 && ev is Event.SocketMessage) socket.close(1000, "bye")
                }
            }
            withTimeout(20_000) {
                opened.await()
                socket.send("hello wxnet")
                socket.send(byteArrayOf(0, 1, 2, -1))
                collector.join() // the flow ends after the terminal CLOSE
            }
            assertInstanceOf(Event.Success::class.java, events.first(), events.toString())
            assertEquals("connectSocket:ok", (events.first() as Event.Success).errMsg)
            assertInstanceOf(Event.SocketOpen::class.java, events[1], events.toString())
            val messages = events.filterIsInstance<Event.SocketMessage>()
            assertEquals(2, messages.size, events.toString())
            assertTrue(messages[0].isText)
            assertEquals("hello wxnet", messages[0].text())
            assertTrue(!messages[1].isText)
            assertArrayEquals(byteArrayOf(0, 1, 2, -1), messages[1].data)
            val close = assertInstanceOf(Event.SocketClose::class.java, events.last())
            assertEquals(1000, close.code)
            assertEquals(1, events.count { it is Event.SocketClose })
            assertTrue(socket.isDone)
            val e = assertThrows(WxnetException::class.java) { socket.send("after close") }
            assertTrue(e.status == Status.INVALID_STATE || e.status == Status.UNKNOWN_TASK, e.toString())
        }
    }

    @Test
    fun closingTheAppClosesItsSockets(): Unit = runBlocking {
        val app = App(testConfig())
        val socket = startOrSkip("connectSocket") { app.connectSocket("""{"url":"wss://ws.wxnet.test$wsPath"}""") }
        val events = ArrayList<Event>()
        val collector = launch { socket.events.collect { events.add(it) } }
        withTimeout(20_000) { while (events.none { it is Event.SocketOpen }) kotlinx.coroutines.delay(10) }
        app.close()
        assertTrue(socket.isDone, "terminal event delivered before close() returned")
        withTimeout(5_000) { collector.join() }
        assertInstanceOf(Event.SocketClose::class.java, events.last())
    }

    /**
     * A server pushes 200 binary 64 KiB messages; nothing collects until the socket has ended
     * (the overflow aborts it), then the flow gives what it kept and the overflow.
     */
    private fun overflowAfterTheEnd(maxMessages: Int, maxBytes: Long): Pair<List<Event>, SocketFlowOverflowException> =
        runBlocking {
            App(testConfig()).use { app ->
                val socket = startOrSkip("connectSocket") {
                    app.connectSocket(
                        """{"url":"wss://ws.wxnet.test/ws/push?n=200&size=65536"}""",
                        maxBufferedMessages = maxMessages,
                        maxBufferedBytes = maxBytes,
                    )
                }
                val close = withTimeout(20_000) { socket.awaitTerminal() }
                assertInstanceOf(Event.SocketClose::class.java, close)
                assertEquals(1000, (close as Event.SocketClose).code, "aborted by the binding")
                val events = ArrayList<Event>()
                val overflow = assertThrows(SocketFlowOverflowException::class.java) {
                    runBlocking { withTimeout(20_000) { socket.events.collect { events.add(it) } } }
                }
                Pair(events, overflow)
            }
        }

    @Test
    fun aFlowThatFallsBehindGetsWhatItKeptThenAnOverflow() {
        val (events, overflow) = overflowAfterTheEnd(8, SocketTask.DEFAULT_MAX_BUFFERED_BYTES)
        val messages = events.filterIsInstance<Event.SocketMessage>()
        assertEquals(8, messages.size, events.toString())
        for (m in messages) assertArrayEquals(ByteArray(65536) { 0x5a }, m.data)
        assertEquals(8, overflow.messages)
        assertEquals(8 * 65536L, overflow.bytes)
        assertEquals(8, overflow.maxMessages)
        assertEquals(16L * 1024 * 1024, overflow.maxBytes)
        assertTrue(overflow.message!!.contains("did not keep up (8 messages / 524288 bytes buffered"), overflow.message)
        assertTrue(events.none { it is Event.SocketClose }, "nothing after the overflow is kept")
    }

    @Test
    fun theByteLimitOfUncollectedMessages() {
        val (events, overflow) = overflowAfterTheEnd(SocketTask.DEFAULT_MAX_BUFFERED_MESSAGES, 100_000)
        assertEquals(1, events.count { it is Event.SocketMessage }, events.toString())
        assertEquals(1, overflow.messages)
        assertEquals(65536L, overflow.bytes)
        assertEquals(100_000L, overflow.maxBytes)
    }

    @Test
    fun bufferLimitsBelowOneAreRefused() {
        App(testConfig()).use { app ->
            val url = """{"url":"wss://ws.wxnet.test$wsPath"}"""
            assertThrows(IllegalArgumentException::class.java) { app.connectSocket(url, maxBufferedMessages = 0) }
            assertThrows(IllegalArgumentException::class.java) { app.connectSocket(url, maxBufferedBytes = 0) }
        }
    }
}
