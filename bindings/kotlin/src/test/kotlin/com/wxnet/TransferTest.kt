package com.wxnet

import com.wxnet.internal.Json
import java.io.File
import java.security.MessageDigest
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** uploadFile / downloadFile with progress; skipped while the library does not implement them. */
class TransferTest {
    private fun sha256(b: ByteArray) = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }

    private fun assertProgress(events: List<Event>) {
        val progress = events.filterIsInstance<Event.Progress>().map { it.progress }
        assertTrue(progress.isNotEmpty(), "progress events")
        assertEquals(progress.sorted(), progress, "progress never goes back")
        assertEquals(100, progress.last())
    }

    @Test
    fun uploadFileWithProgress(): Unit = runBlocking {
        val sandbox = Sandbox()
        App(testConfig(sandbox)).use { app ->
            val content = ByteArray(3 * 1024 * 1024) { (it * 7 % 256).toByte() }
            File(sandbox.usr, "up.bin").writeBytes(content)
            val rec = Recorder()
            val task = startOrSkip("uploadFile") {
                app.uploadFile(
                    """{"url":"https://up.wxnet.test/upload","filePath":"wxfile://usr/up.bin","name":"file",
                       "formData":{"purpose":"kotlin"}}""",
                    rec,
                )
            }
            val ok = withTimeout(60_000) { task.await() }
            assertEquals("uploadFile:ok", ok.errMsg)
            assertEquals(200, ok.statusCode)
            val answer = Json.parseObject(ok.data)
            assertEquals(mapOf("purpose" to "kotlin"), answer["fields"])
            @Suppress("UNCHECKED_CAST")
            val file = (answer["files"] as List<Map<String, Any?>>).single()
            assertEquals(content.size.toLong(), file["size"])
            assertEquals(sha256(content), file["sha256"])
            assertProgress(rec.events)
            // Progress counts the whole multipart body (file plus part headers and boundaries).
            val last = rec.events.filterIsInstance<Event.Progress>().last().res
            assertEquals(last["totalBytesExpectedToSend"], last["totalBytesSent"])
            assertTrue((last["totalBytesSent"] as Long) >= content.size, last.toString())
        }
    }

    @Test
    fun downloadFileWithProgressToATempFile(): Unit = runBlocking {
        val sandbox = Sandbox()
        App(testConfig(sandbox)).use { app ->
            val n = 2 * 1024 * 1024
            val rec = Recorder()
            val task = startOrSkip("downloadFile") {
                app.downloadFile("""{"url":"https://cdn.wxnet.test/bytes/$n"}""", rec)
            }
            val ok = withTimeout(60_000) { task.await() }
            assertEquals("downloadFile:ok", ok.errMsg)
            assertEquals(200, ok.statusCode)
            val virtual = ok.tempFilePath!!
            assertEquals(virtual, ok.path)
            assertEquals(null, ok.filePath)
            assertTrue(virtual.startsWith("wxfile://tmp_"), virtual)
            val file = File(sandbox.temp, virtual.removePrefix("wxfile://"))
            val bytes = file.readBytes()
            assertEquals(n, bytes.size)
            assertTrue(bytes.withIndex().all { (i, b) -> b == (i % 251).toByte() }, "the /bytes pattern")
            assertProgress(rec.events)
        }
    }

    @Test
    fun downloadAbortLeavesNoFile(): Unit = runBlocking {
        val sandbox = Sandbox()
        App(testConfig(sandbox)).use { app ->
            val rec = Recorder()
            val task = startOrSkip("downloadFile") {
                app.downloadFile(
                    """{"url":"https://cdn.wxnet.test/bytes/${16 * 1024 * 1024}?rate_kbps=256","filePath":"wxfile://usr/big.bin"}""",
                    listener = rec,
                )
            }
            // Mid-download: the file is being written.
            eventually(10_000, "a PROGRESS event") { rec.events.any { it is Event.Progress } }
            task.abort()
            val e = runCatching { withTimeout(10_000) { task.await() } }.exceptionOrNull()
            assertTrue(e is WxFailException, "fail, got $e")
            assertEquals(603105L, (e as WxFailException).errno)
            assertFalse(File(sandbox.usr, "big.bin").exists(), "no partial file after abort")
        }
    }
}
