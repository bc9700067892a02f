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
}
