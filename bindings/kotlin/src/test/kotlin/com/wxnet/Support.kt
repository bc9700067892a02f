package com.wxnet

import com.wxnet.internal.Json
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assumptions

/**
 * The project's test server (`wxnet-testserver`, path in the system property
 * `wxnet.testserver`), started once per test JVM as a child process; it stops when its stdin
 * closes (at JVM exit at the latest).
 */
object TestServer {
    val dir: File = Files.createTempDirectory("wxnet-kotlin-test").toFile()
    private val process: Process
    val httpsPort: Int
    val caPem: String

    init {
        val bin = System.getProperty("wxnet.testserver")
            ?: error("system property wxnet.testserver (path to wxnet-testserver) is not set")
        process = ProcessBuilder(bin, "--ca-file", File(dir, "ca.pem").path)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val line = process.inputStream.bufferedReader().readLine()
            ?: error("wxnet-testserver printed nothing (exit ${process.waitFor()})")
        val info = Json.parseObject(line)
        httpsPort = (info["https"] as Number).toInt()
        caPem = File(info["ca"] as String).readText()
        Runtime.getRuntime().addShutdownHook(Thread {
            process.outputStream.close()
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
            dir.deleteRecursively()
        })
    }

    val hostnames = listOf("api.wxnet.test", "ws.wxnet.test", "up.wxnet.test", "cdn.wxnet.test", "other.wxnet.test")
}

/** Sandbox directories of one test app. */
class Sandbox {
    val root: File = Files.createTempDirectory(TestServer.dir.toPath(), "app").toFile()
    val temp = File(root, "tmp").apply { mkdirs() }
    val usr = File(root, "usr").apply { mkdirs() }
}

/** A config whose listed domains all pin to the test server, full policy on. */
fun testConfig(sandbox: Sandbox = Sandbox(), extra: String = ""): String {
    val pin = Json.quote("127.0.0.1:${TestServer.httpsPort}")
    val resolve = TestServer.hostnames.joinToString(",") { "${Json.quote("$it:443")}:$pin" }
    return """{"appId":"wxkotlintest","version":"0",
        "domains":{"request":["https://api.wxnet.test"],"socket":["wss://ws.wxnet.test"],
                   "uploadFile":["https://up.wxnet.test"],"downloadFile":["https://cdn.wxnet.test"]},
        "caCertificates":[${Json.quote(TestServer.caPem)}],
        "resolve":{$resolve},
        "tempDir":${Json.quote(sandbox.temp.path)},"userDataDir":${Json.quote(sandbox.usr.path)}$extra}"""
}

fun api(path: String) = "https://api.wxnet.test$path"

/** Records a task's events (listener), safe to read from the test thread. */
class Recorder : EventListener {
    val events = CopyOnWriteArrayList<Event>()
    val threads = CopyOnWriteArrayList<Thread>()
    override fun onEvent(event: Event) {
        events.add(event)
        threads.add(Thread.currentThread())
    }
}

/**
 * Runs [start]; a start that the library refuses with WXNET_E_INVALID_STATE because the API is
 * not implemented in this build skips the test (JUnit assumption) with that reason.
 */
fun <T> startOrSkip(api: String, start: () -> T): T = try {
    start()
} catch (e: WxnetException) {
    val notYet = e.status == Status.INVALID_STATE && e.detail.contains("not implemented")
    Assumptions.assumeTrue(!notYet, "SKIPPED: wx.$api is not implemented in this build of the library yet (${e.message})")
    throw e
}

/** Polls [cond] until true or [timeoutMs] passes. */
fun eventually(timeoutMs: Long = 10_000, what: String = "condition", cond: () -> Boolean) {
    val deadline = System.nanoTime() + timeoutMs * 1_000_000
    while (!cond()) {
        if (System.nanoTime() > deadline) throw AssertionError("timed out waiting for $what")
        Thread.sleep(5)
    }
}

/** Resident set size of this process in bytes (Linux), or -1. */
fun rssBytes(): Long = try {
    File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }
        .split(Regex("\\s+"))[1].toLong() * 1024
} catch (e: Exception) {
    -1
}

/** Used JVM heap after a full GC, in bytes. */
fun usedHeapAfterGc(): Long {
    val rt = Runtime.getRuntime()
    repeat(3) {
        System.gc()
        Thread.sleep(50)
    }
    return rt.totalMemory() - rt.freeMemory()
}
