package com.wxnet

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.util.concurrent.TimeUnit

/** Loading a library that lacks the JNI entry points gives a message that says so. */
class LoadTest {
    @Test
    fun aLibraryWithoutJniEntryPointsIsNamedAndExplained() {
        // Any real shared library without Java_com_wxnet_* symbols: a copy of the JDK's own
        // libzip (a copy: the JVM has the original loaded already).
        val libzip = File(System.getProperty("java.home"), "lib/libzip.so")
        assertTrue(libzip.isFile, "$libzip")
        val notWxnet = File.createTempFile("not-wxnet-", ".so").also { it.deleteOnExit() }
        libzip.copyTo(notWxnet, overwrite = true)
        val java = File(System.getProperty("java.home"), "bin/java").path
        val process = ProcessBuilder(
            java, "-cp", System.getProperty("java.class.path"), "-Dwxnet.library=${notWxnet.path}",
            "com.wxnet.LoadProbe",
        ).redirectErrorStream(true).start()
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe JVM did not exit")
        val output = process.inputStream.bufferedReader().readText()
        assertEquals(0, process.exitValue(), output)
        assertTrue(output.contains("${notWxnet.path} has no JNI entry points"), output)
        assertTrue(output.contains("--features jni"), output)
    }
}

/** The binding's C ABI version is the header's, and the loaded library's. */
class AbiVersionTest {
    @Test
    fun theBindingTheHeaderAndTheLibraryAgree() {
        // bindings/kotlin is Maven's working directory.
        val header = File("../../include/wxnet.h").readText()
        val defined = Regex("""#define WXNET_ABI_VERSION (\d+)""").find(header)?.groupValues?.get(1)?.toInt()
        assertEquals(defined, Wxnet.ABI_VERSION, "include/wxnet.h and Wxnet.ABI_VERSION")
        assertEquals(Wxnet.ABI_VERSION, com.wxnet.internal.Native.abiVersion(), "the loaded library")
    }
}

/** Run in a fresh JVM by [LoadTest]: prints the error of the first call. */
object LoadProbe {
    @JvmStatic
    fun main(args: Array<String>) {
        try {
            println(Wxnet.version)
        } catch (e: Throwable) {
            // The object's initializer error carries ours as its cause.
            var t: Throwable? = e
            while (t != null) {
                println("${t.javaClass.name}: ${t.message}")
                t = t.cause
            }
        }
    }
}
