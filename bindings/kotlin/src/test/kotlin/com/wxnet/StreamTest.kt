package com.wxnet

import java.io.ByteArrayOutputStream
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * Long event streams: 10,000+ events in order, with flat JVM heap and native RSS (a JNI
 * local-reference leak on the dispatcher thread would keep every chunk alive).
 */
class StreamTest {
    private val n = 10_000
    private val size = 1024
    private val alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toByteArray()

    /** One /chunked stream of [n] chunks; returns the number of CHUNK events seen. */
    private fun stream(app: App): Int = runBlocking {
        val chunks = AtomicInteger()
        val kinds = ArrayList<Int>()
        val body = ByteArrayOutputStream(n * size)
        var ordered = true
        val ok = withTimeout(120_000) {
            app.awaitRequest("""{"url":"${api("/chunked?n=$n&size=$size&interval_ms=0")}","enableChunked":true}""") { ev ->
                kinds.add(ev.kind)
                if (ev is Event.ChunkReceived) {
                    chunks.incrementAndGet()
                    val d = ev.data!!
                    val base = body.size()
                    for (i in d.indices) if (d[i] != alphabet[(base + i) % alphabet.size]) ordered = false
                    body.write(d)
                }
            }
        }
        assertEquals(200, ok.statusCode)
        assertEquals(Event.HEADERS_RECEIVED, kinds.first())
        assertEquals(Event.SUCCESS, kinds.last())
        assertTrue(kinds.subList(1, kinds.size - 1).all { it == Event.CHUNK_RECEIVED })
        assertEquals(n * size, body.size(), "every byte arrived")
        assertTrue(ordered, "chunks arrive in order")
        chunks.get()
    }

    @Test
    fun tenThousandChunkEventsInOrderWithFlatMemory() {
        App(testConfig()).use { app ->
            stream(app) // warm-up: JIT, pools, TLS session, runtime threads
            val heap0 = usedHeapAfterGc()
            val rss0 = rssBytes()
            var events = 0
            repeat(3) { events += stream(app) }
            val heap1 = usedHeapAfterGc()
            val rss1 = rssBytes()
            println("[StreamTest] ${events / 3} chunk events per stream of $n; heap ${heap0 / 1024} -> ${heap1 / 1024} KiB; " +
                "RSS ${rss0 / 1024} -> ${rss1 / 1024} KiB")
            assertTrue(events / 3 >= n, "at least $n chunk events per stream, got ${events / 3}")
            // 3 streams move 30 MiB through JNI: a leak of the byte arrays would show here.
            assertTrue(heap1 - heap0 < 16L * 1024 * 1024, "JVM heap grew by ${(heap1 - heap0) / 1024} KiB")
            if (rss0 > 0) assertTrue(rss1 - rss0 < 64L * 1024 * 1024, "RSS grew by ${(rss1 - rss0) / 1024} KiB")
        }
    }

    @Test
    fun tenThousandSmallRequestsInOrderPerTask() {
        App(testConfig(extra = ""","maxConcurrentRequests":10""")).use { app ->
            val total = 10_000
            val done = AtomicInteger()
            val bad = AtomicLong()
            val heap0 = usedHeapAfterGc()
            runBlocking {
                // Windows of 200 so the queue stays bounded.
                for (w in 0 until total / 200) {
                    val tasks = List(200) {
                        val seen = IntArray(1)
                        app.request("""{"url":"${api("/json")}"}""") { ev ->
                            // Per task: HEADERS_RECEIVED first, then SUCCESS last.
                            val expected = if (seen[0] == 0) Event.HEADERS_RECEIVED else Event.SUCCESS
                            if (ev.kind != expected) bad.incrementAndGet()
                            seen[0]++
                            if (ev is Event.Success) done.incrementAndGet()
                        }
                    }
                    withTimeout(120_000) { tasks.forEach { it.await() } }
                }
            }
            assertEquals(total, done.get())
            assertEquals(0L, bad.get())
            val heap1 = usedHeapAfterGc()
            println("[StreamTest] $total requests; heap ${heap0 / 1024} -> ${heap1 / 1024} KiB")
            assertTrue(heap1 - heap0 < 16L * 1024 * 1024, "JVM heap grew by ${(heap1 - heap0) / 1024} KiB")
        }
    }
}
