package com.wxnet

import com.wxnet.internal.Json
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class RequestTest {
    @Test
    fun versionAndStatusTexts() {
        assertTrue(Wxnet.version.matches(Regex("\\d+\\.\\d+\\.\\d+.*")), Wxnet.version)
        assertEquals("ok", Wxnet.statusText(Status.OK))
        assertNotEquals("", Wxnet.statusText(Status.INVALID_CONFIG))
    }

    @Test
    fun invalidConfigThrowsWithTheField() {
        val e = assertThrows(WxnetException::class.java) { App("""{"appId":"x","noSuchField":1}""") }
        assertEquals(Status.INVALID_CONFIG, e.status)
        assertTrue(e.detail.contains("noSuchField"), e.detail)
        val missing = assertThrows(WxnetException::class.java) { App("""{"version":"1"}""") }
        assertEquals(Status.INVALID_CONFIG, missing.status)
    }

    @Test
    fun getJsonWithHeadersEventThenSuccess(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val rec = Recorder()
            val ok = withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/json")}"}""", listener = rec) }
            assertEquals(2, rec.events.size, rec.events.toString())
            val headers = assertInstanceOf(Event.HeadersReceived::class.java, rec.events[0])
            assertEquals(200L, headers.res["statusCode"])
            assertEquals(200, headers.statusCode)
            assertSame(ok.event, rec.events[1])
            assertEquals("request:ok", ok.errMsg)
            assertEquals(200, ok.statusCode)
            assertEquals(DataKind.JSON, ok.dataKind)
            assertEquals("json", ok.event.res["dataKind"]) // the raw map stays available
            assertEquals(mapOf("hello" to "world", "n" to 1L), Json.parse(ok.text()))
            assertTrue(ok.event.taskId > 0)
            assertEquals(ok.event.taskId, headers.taskId)
            assertEquals("127.0.0.1", ok.profile.peerIP)
        }
    }

    @Test
    fun postBinaryBodyIsSentAsIs(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val body = ByteArray(3000) { (it % 251).toByte() }
            val ok = withTimeout(20_000) {
                app.awaitRequest("""{"url":"${api("/echo")}","method":"post","header":{"content-type":"application/octet-stream"}}""", body)
            }
            val echo = Json.parseObject(ok.text())
            assertEquals("POST", echo["method"])
            assertEquals(3000L, echo["bodyLength"])
        }
    }

    @Test
    fun arraybufferResponseComesAsBytes(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val ok = withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/bytes/1000")}","responseType":"arraybuffer"}""") }
            assertEquals(DataKind.ARRAYBUFFER, ok.dataKind)
            val data = ok.data
            assertEquals(1000, data.size)
            assertTrue(data.withIndex().all { (i, b) -> b == (i % 251).toByte() })
        }
    }

    @Test
    fun httpErrorStatusIsSuccessAndPolicyViolationIsFail(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val notFound = withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/status/404")}"}""") }
            assertEquals(404, notFound.statusCode)
            val e = assertThrows(WxFailException::class.java) {
                runBlocking { app.awaitRequest("""{"url":"https://not-listed.example.com/json"}""") }
            }
            assertEquals(600002L, e.errno)
            assertTrue(e.errMsg.startsWith("request:fail"), e.errMsg)
            assertEquals("${e.errMsg} (errno 600002)", e.message)
        }
    }

    @Test
    fun malformedOptionsThrowSynchronouslyAndEmitNothing() {
        App(testConfig()).use { app ->
            val rec = Recorder()
            val e = assertThrows(WxnetException::class.java) { app.request("{not json", listener = rec) }
            assertEquals(Status.INVALID_ARGUMENT, e.status)
            assertTrue(e.detail.isNotEmpty())
            // Events are delivered in order: once a later request has ended, anything the
            // refused one had emitted would have arrived.
            runBlocking { withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/json")}"}""") } }
            assertTrue(rec.events.isEmpty())
        }
    }

    @Test
    fun abortEndsWithFailAbort(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val rec = Recorder()
            val task = app.request("""{"url":"${api("/hang")}"}""", listener = rec)
            task.abort()
            task.abort() // idempotent
            val e = assertThrows(WxFailException::class.java) { runBlocking { withTimeout(10_000) { task.await() } } }
            assertEquals("request:fail abort", e.errMsg)
            assertTrue(task.isDone)
            task.abort() // after the end: nothing happens
            assertEquals(1, rec.events.count { it is Event.Fail })
        }
    }

    @Test
    fun coroutineCancellationAbortsTheTask(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val rec = Recorder()
            val job = async(start = CoroutineStart.UNDISPATCHED) {
                app.awaitRequest("""{"url":"${api("/hang")}"}""", listener = rec)
            }
            // UNDISPATCHED: the request started before awaitRequest first suspended.
            job.cancelAndJoin()
            eventually(10_000, "the abort FAIL") { rec.events.any { it is Event.Fail } }
            val fail = rec.events.last() as Event.Fail
            assertEquals("request:fail abort", fail.errMsg)
        }
    }

    @Test
    fun listenersMayStartTasksAndRunOnOneAttachedThread(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val second = CompletableDeferredEvent()
            val rec = Recorder()
            val first = app.request("""{"url":"${api("/json")}"}""") { ev ->
                rec.onEvent(ev)
                if (ev is Event.Success) {
                    // From inside a listener: start another task (no deadlock).
                    app.request("""{"url":"${api("/text")}"}""", listener = rec).also { second.task = it }
                }
            }
            first.await()
            eventually(20_000, "the second task") { second.task?.isDone == true }
            val threads = rec.threads.toSet()
            assertEquals(1, threads.size, "all events on one dispatcher thread (attached once): $threads")
            assertFalse(threads.contains(Thread.currentThread()))
        }
    }

    @Test
    fun listenerExceptionsNeverCrossIntoTheLibrary(): Unit = runBlocking {
        val logs = CopyOnWriteArrayList<String>()
        Wxnet.setLogger(Wxnet.LOG_WARN) { _, msg -> logs.add(msg) }
        try {
            App(testConfig()).use { app ->
                repeat(3) {
                    val ok = withTimeout(20_000) {
                        app.awaitRequest("""{"url":"${api("/json")}"}""") { throw IllegalStateException("listener boom $it") }
                    }
                    assertEquals(200, ok.statusCode)
                }
                // The app still works afterwards.
                assertEquals(200, withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/json")}"}""") }.statusCode)
            }
            eventually(5_000, "the log records") { logs.count { it.contains("listener boom") } >= 6 }
            assertTrue(logs.any { it.contains("IllegalStateException") }, logs.toString())
        } finally {
            Wxnet.setLogger(Wxnet.LOG_WARN, null)
        }
    }

    @Test
    fun closeWithTasksInFlightDeliversTheirTerminalEventsFirst(): Unit = runBlocking {
        val app = App(testConfig(extra = ""","maxConcurrentRequests":2"""))
        val recs = List(6) { Recorder() }
        // 2 in flight (their headers arrived; the bodies never come) and 4 queued behind the limiter.
        val tasks = recs.map { app.request("""{"url":"${api("/delay-body/600000")}"}""", listener = it) }
        val waiters = tasks.map { t -> launch(start = CoroutineStart.UNDISPATCHED) { runCatching { t.await() } } }
        eventually(10_000, "two tasks in flight") { recs.count { r -> r.events.any { it is Event.HeadersReceived } } == 2 }
        app.close()
        // Every terminal event was delivered before close() returned.
        for ((t, rec) in tasks.zip(recs)) {
            assertTrue(t.isDone, "task ${t.id} done when close returned")
            assertEquals(1, rec.events.count { it is Event.Fail }, "${rec.events}")
            val fail = rec.events.last() as Event.Fail
            assertEquals("request:fail abort", fail.errMsg)
        }
        waiters.forEach { it.join() }
        assertTrue(app.isClosed)
        app.close() // idempotent
        val e = assertThrows(WxnetException::class.java) { app.request("""{"url":"${api("/json")}"}""") }
        assertEquals(Status.CLOSED, e.status)
        tasks[0].abort() // unknown after close: no throw
    }

    @Test
    fun closeFromInsideOwnListenerIsRefused() {
        App(testConfig()).use { app ->
            val result = CopyOnWriteArrayList<Int>()
            val done = CountDownLatch(1)
            app.request("""{"url":"${api("/json")}"}""") { ev ->
                if (ev is Event.Success) {
                    try {
                        app.close()
                        result.add(0)
                    } catch (e: WxnetException) {
                        result.add(e.status)
                    }
                    done.countDown()
                }
            }
            assertTrue(done.await(20, TimeUnit.SECONDS))
            assertEquals(listOf(Status.WOULD_DEADLOCK), result.toList())
            assertFalse(app.isClosed)
        }
    }

    @Test
    fun dispatcherThreadIsDetachedWhenTheAppIsClosed(): Unit = runBlocking {
        val rec = Recorder()
        val app = App(testConfig())
        repeat(3) { app.request("""{"url":"${api("/json")}"}""", listener = rec).await() }
        val thread = rec.threads.toSet().single()
        assertTrue(thread.isAlive)
        app.close()
        eventually(5_000, "the dispatcher thread to detach") { !thread.isAlive }
    }

    @Test
    fun backgroundInterruptsAfterGrace(): Unit = runBlocking {
        App(testConfig(extra = ""","backgroundGraceMs":100""")).use { app ->
            val task = app.request("""{"url":"${api("/hang")}"}""")
            app.setBackground(true)
            val e = assertThrows(WxFailException::class.java) { runBlocking { withTimeout(10_000) { task.await() } } }
            assertEquals(600003L, e.errno)
            app.setBackground(false)
            assertEquals(200, withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/json")}"}""") }.statusCode)
        }
    }

    @Test
    fun resetConnectionsMakesTheNextRequestConnectAnew(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val json = """{"url":"${api("/json")}"}"""
            withTimeout(20_000) { app.awaitRequest(json) }
            assertTrue(withTimeout(20_000) { app.awaitRequest(json) }.profile.socketReused)
            app.resetConnections()
            assertFalse(withTimeout(20_000) { app.awaitRequest(json) }.profile.socketReused)
            assertTrue(withTimeout(20_000) { app.awaitRequest(json) }.profile.socketReused)
        }
    }

    private class CompletableDeferredEvent {
        @Volatile var task: RequestTask? = null
    }
}
