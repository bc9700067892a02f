package com.wxnet

import com.wxnet.internal.Json
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The binding's internal JSON reader is strict (RFC 8259): what it must reject, and what it must read. */
class JsonTest {
    private fun rejects(text: String, why: String) {
        val e = assertThrows(IllegalArgumentException::class.java, { Json.parse(text) }, "accepted: $text")
        assertTrue(e.message!!.startsWith("JSON: ") && e.message!!.contains(why), "$text -> ${e.message}")
    }

    @Test
    fun rejectsALeadingPlus() {
        rejects("+1", "unexpected character '+'")
        rejects("[+1]", "unexpected character '+'")
    }

    @Test
    fun rejectsLeadingZeros() {
        rejects("01", "leading zero")
        rejects("-01", "leading zero")
        rejects("{\"a\":00}", "leading zero")
    }

    @Test
    fun rejectsNonAsciiDigits() {
        rejects("\u0661\u0662", "unexpected character") // Arabic-Indic ١٢
        rejects("1\u0662", "trailing characters")
        rejects("1.\u0662", "expected a digit")
        rejects("1e\u0662", "expected a digit")
        rejects("\"\\u\u0661\u0662\u0663\u0664\"", "bad \\u escape")
        rejects("\"\\u+123\"", "bad \\u escape")
    }

    @Test
    fun rejectsNumbersOutOfRangeInsteadOfInfinity() {
        rejects("1e400", "number out of range")
        rejects("-1e400", "number out of range")
        rejects("[1, 2e999]", "number out of range")
    }

    @Test
    fun rejectsTrailingGarbageAndMalformedNumbers() {
        rejects("{} x", "trailing characters")
        rejects("1 2", "trailing characters")
        rejects("truex", "trailing characters")
        rejects("[1,]", "unexpected character ']'")
        rejects("{\"a\":1,}", "expected a key")
        rejects(".5", "unexpected character '.'")
        rejects("1.", "expected a digit")
        rejects("1e", "expected a digit")
        rejects("1e+", "expected a digit")
        rejects("-", "expected a digit")
        rejects("NaN", "unexpected character 'N'")
        rejects("Infinity", "unexpected character 'I'")
        rejects("'a'", "unexpected character")
        rejects("{a:1}", "expected a key")
        rejects("\"a\tb\"", "control character")
        rejects("", "unexpected end")
        rejects("[", "unexpected end")
        rejects("\"abc", "unterminated string")
    }

    @Test
    fun rejectsHostileNestingWithoutStackOverflow() {
        rejects("[".repeat(100_000), "nested deeper than ${Json.MAX_DEPTH}")
        val d = Json.MAX_DEPTH
        rejects("[".repeat(d + 1) + "]".repeat(d + 1), "nested deeper than $d")
        rejects("{\"a\":".repeat(d + 1) + "1" + "}".repeat(d + 1), "nested deeper than $d")
        var v = Json.parse("[".repeat(d) + "]".repeat(d)) // exactly the limit: fine
        var depth = 0
        while (v is List<*>) { depth++; v = v.firstOrNull() }
        assertEquals(d, depth)
    }

    @Test
    fun validJsonStillParses() {
        assertEquals(0L, Json.parse("0"))
        assertEquals(-0.0, Json.parse("-0.0"))
        assertEquals(1.5e10, Json.parse("1.5E+10"))
        assertEquals(1.0e-3, Json.parse("1e-3"))
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"))
        assertEquals(9.223372036854775808e18, Json.parse("9223372036854775808")) // past Long: a Double
        assertEquals(1.7976931348623157e308, Json.parse("1.7976931348623157e308"))
        assertEquals(
            linkedMapOf(
                "s" to "a\"b\\c/\n\u00e9\ud83d\ude00", "t" to true, "f" to false, "n" to null,
                "a" to listOf(1L, -2L, 3.25, listOf<Any?>(), mapOf<String, Any?>()),
            ),
            Json.parse(" {\"s\":\"a\\\"b\\\\c\\/\\n\\u00E9\\ud83d\\ude00\", \"t\":true,\"f\":false,\"n\":null,\n\t\"a\":[1,-2,3.25,[],{}]} \r\n"),
        )
        assertEquals(listOf("key", "order"), Json.parseObject("""{"key":1,"order":2}""").keys.toList())
        assertEquals("\"a\\nb\\u0001\"", Json.quote("a\nb\u0001"))
        assertEquals("a\nb\u0001", Json.parse(Json.quote("a\nb\u0001")))
    }
}
