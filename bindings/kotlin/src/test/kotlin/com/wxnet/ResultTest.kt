package com.wxnet

import com.wxnet.internal.Json
import java.io.File
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The typed results of request / uploadFile / downloadFile, over real sockets. */
class ResultTest {
    @Test
    fun requestResultHasStatusHeadersCookiesDataAndProfile(): Unit = runBlocking {
        App(testConfig()).use { app ->
            val rec = Recorder()
            val ok = withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/set-cookie")}"}""", listener = rec) }
            assertEquals(200, ok.statusCode)
            assertEquals("request:ok", ok.errMsg)
            assertEquals(DataKind.TEXT, ok.dataKind)
            assertEquals("cookies set", ok.text())
            assertEquals("cookies set", ok.data.toString(Charsets.UTF_8))
            assertEquals(listOf("a=1; Path=/", "b=2; HttpOnly"), ok.cookies)
            assertEquals("one, two", ok.header["x-multi"])
            assertEquals("one, two", ok.header["X-Multi"], "header lookup ignores case")
            assertTrue(ok.header["content-type"]!!.startsWith("text/plain"), ok.header.toString())
            assertNull(ok.header["set-cookie"], "Set-Cookie goes to cookies, not header")
            assertNull(ok.header["no-such-header"])
            // The headers event is typed too.
            val headers = assertInstanceOf(Event.HeadersReceived::class.java, rec.events.first())
            assertEquals(200, headers.statusCode)
            assertEquals(ok.cookies, headers.cookies)
            assertEquals("one, two", headers.header["X-MULTI"])
            // Profile: a fresh TLS connection to the test server.
            val p = ok.profile
            assertEquals("127.0.0.1", p.peerIP)
            assertEquals(TestServer.httpsPort, p.port)
            assertTrue(p.protocol == "http1.1" || p.protocol == "h2", p.protocol)
            assertTrue(p.invokeStart > 0 && p.fetchStart >= p.invokeStart, p.toString())
            assertTrue(p.sslConnectionEnd >= p.sslConnectionStart && p.sslConnectionStart > 0, p.toString())
            assertTrue(p.responseEnd >= p.responseStart && p.responseStart > 0, p.toString())
            assertTrue(p.receivedBytesCount > 0 && p.sendBytesCount > 0, p.toString())
            // A listener's success event gives the same typed view.
            assertEquals(ok.cookies, RequestResult.of(rec.events.last() as Event.Success).cookies)
            // The second request reuses the connection.
            val again = withTimeout(20_000) { app.awaitRequest("""{"url":"${api("/json")}"}""") }
            assertTrue(again.profile.socketReused, again.profile.toString())
        }
    }

    @Test
    fun uploadAndDownloadResultsAreTyped(): Unit = runBlocking {
        val sandbox = Sandbox()
        App(testConfig(sandbox)).use { app ->
            File(sandbox.usr, "small.bin").writeBytes(ByteArray(1000) { it.toByte() })
            val up = withTimeout(20_000) {
                app.awaitUploadFile("""{"url":"https://up.wxnet.test/upload","filePath":"wxfile://usr/small.bin","name":"f"}""")
            }
            assertEquals("uploadFile:ok", up.errMsg)
            assertEquals(200, up.statusCode)
            val files = Json.parseObject(up.data)["files"] as List<*>
            assertEquals(1000L, (files.single() as Map<*, *>)["size"], up.data)
            assertEquals("127.0.0.1", up.profile.peerIP)

            val down = withTimeout(20_000) {
                app.awaitDownloadFile("""{"url":"https://cdn.wxnet.test/bytes/500","filePath":"wxfile://usr/got.bin"}""")
            }
            assertEquals("downloadFile:ok", down.errMsg)
            assertEquals(200, down.statusCode)
            assertEquals("wxfile://usr/got.bin", down.filePath)
            assertNull(down.tempFilePath)
            assertEquals("wxfile://usr/got.bin", down.path)
            assertEquals(500, File(sandbox.usr, "got.bin").length())
            assertTrue(down.profile.receivedBytesCount >= 500, down.profile.toString())
        }
    }
}
