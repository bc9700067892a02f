package com.wxnet.internal

/**
 * A small strict JSON reader (RFC 8259) and string quoting, internal to the binding; the
 * public API hands out typed results ([com.wxnet.RequestResult]...) and [com.wxnet.Event.res].
 *
 * Why not org.json: Android's built-in org.json and the Maven `org.json:json` artifact are two
 * different implementations, and both are lenient by design (unquoted strings, single quotes,
 * `;` as a separator; Android's also `=>` and `#` comments), so the same text would parse
 * differently on the phone and on the desktop JVM, and neither rejects what this one must.
 *
 * Objects become `Map<String, Any?>` (insertion order kept, the last duplicate key wins),
 * arrays `List<Any?>`, numbers `Long` when written without fraction or exponent and in range,
 * else `Double`. Rejected with [IllegalArgumentException] (message "JSON: … at <offset>"):
 * a leading `+`, leading zeros (`01`), digits other than ASCII 0-9, `.5`, `1.`, `1e`, a
 * number too large for a double (`1e400`: never Infinity), NaN/Infinity literals, bad or
 * short `\u` escapes, raw control characters in strings, trailing garbage, and nesting
 * deeper than [MAX_DEPTH] (no stack overflow on hostile input).
 */
internal object Json {
    /** Deepest array/object nesting accepted. */
    const val MAX_DEPTH = 512

    fun parse(text: String): Any? {
        val p = Parser(text)
        p.ws()
        val v = p.value(0)
        p.ws()
        if (p.i != text.length) p.fail("trailing characters")
        return v
    }

    @Suppress("UNCHECKED_CAST")
    fun parseObject(text: String): Map<String, Any?> =
        parse(text) as? Map<String, Any?> ?: throw IllegalArgumentException("JSON: not an object")

    /** [s] as a JSON string literal. */
    fun quote(s: String): String {
        val b = StringBuilder(s.length + 2).append('"')
        for (c in s) {
            when (c) {
                '"' -> b.append("\\\"")
                '\\' -> b.append("\\\\")
                '\n' -> b.append("\\n")
                '\r' -> b.append("\\r")
                '\t' -> b.append("\\t")
                else -> if (c < ' ') b.append(String.format("\\u%04x", c.code)) else b.append(c)
            }
        }
        return b.append('"').toString()
    }

    private fun isDigit(c: Char) = c in '0'..'9'

    private class Parser(val s: String) {
        var i = 0

        fun fail(msg: String): Nothing = throw IllegalArgumentException("JSON: $msg at $i")

        fun ws() {
            while (i < s.length && s[i].let { it == ' ' || it == '\n' || it == '\r' || it == '\t' }) i++
        }

        fun value(depth: Int): Any? {
            if (i >= s.length) fail("unexpected end")
            return when (s[i]) {
                '{' -> obj(depth + 1)
                '[' -> arr(depth + 1)
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                '-', in '0'..'9' -> num()
                else -> fail("unexpected character '${s[i]}'")
            }
        }

        fun lit(word: String, v: Any?): Any? {
            if (!s.startsWith(word, i)) fail("bad literal")
            i += word.length
            return v
        }

        fun obj(depth: Int): Map<String, Any?> {
            if (depth > MAX_DEPTH) fail("nested deeper than $MAX_DEPTH")
            val m = LinkedHashMap<String, Any?>()
            i++
            ws()
            if (i < s.length && s[i] == '}') { i++; return m }
            while (true) {
                ws()
                if (i >= s.length || s[i] != '"') fail("expected a key")
                val k = str()
                ws()
                if (i >= s.length || s[i] != ':') fail("expected ':'")
                i++
                ws()
                m[k] = value(depth)
                ws()
                if (i >= s.length) fail("unterminated object")
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return m
                    else -> { i--; fail("expected ',' or '}'") }
                }
            }
        }

        fun arr(depth: Int): List<Any?> {
            if (depth > MAX_DEPTH) fail("nested deeper than $MAX_DEPTH")
            val l = ArrayList<Any?>()
            i++
            ws()
            if (i < s.length && s[i] == ']') { i++; return l }
            while (true) {
                ws()
                l.add(value(depth))
                ws()
                if (i >= s.length) fail("unterminated array")
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return l
                    else -> { i--; fail("expected ',' or ']'") }
                }
            }
        }

        fun str(): String {
            i++
            val b = StringBuilder()
            while (true) {
                if (i >= s.length) fail("unterminated string")
                val c = s[i++]
                when {
                    c == '"' -> return b.toString()
                    c == '\\' -> {
                        if (i >= s.length) fail("bad escape")
                        when (val e = s[i++]) {
                            '"', '\\', '/' -> b.append(e)
                            'b' -> b.append('\b')
                            'f' -> b.append('\u000c')
                            'n' -> b.append('\n')
                            'r' -> b.append('\r')
                            't' -> b.append('\t')
                            'u' -> b.append(hex4())
                            else -> { i--; fail("bad escape") }
                        }
                    }
                    c < ' ' -> { i--; fail("control character in string") }
                    else -> b.append(c)
                }
            }
        }

        /** Exactly four ASCII hex digits (no sign, no other scripts' digits). */
        fun hex4(): Char {
            if (i + 4 > s.length) fail("bad \\u escape")
            var v = 0
            repeat(4) {
                val d = when (val c = s[i + it]) {
                    in '0'..'9' -> c - '0'
                    in 'a'..'f' -> c - 'a' + 10
                    in 'A'..'F' -> c - 'A' + 10
                    else -> { i += it; fail("bad \\u escape") }
                }
                v = v * 16 + d
            }
            i += 4
            return v.toChar()
        }

        fun digits() {
            if (i >= s.length || !isDigit(s[i])) fail("expected a digit")
            while (i < s.length && isDigit(s[i])) i++
        }

        /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, ASCII digits only. */
        fun num(): Any {
            val start = i
            if (s[i] == '-') i++
            if (i >= s.length || !isDigit(s[i])) fail("expected a digit")
            if (s[i] == '0') {
                i++
                if (i < s.length && isDigit(s[i])) fail("leading zero")
            } else {
                digits()
            }
            var integral = true
            if (i < s.length && s[i] == '.') {
                i++
                digits()
                integral = false
            }
            if (i < s.length && (s[i] == 'e' || s[i] == 'E')) {
                i++
                if (i < s.length && (s[i] == '+' || s[i] == '-')) i++
                digits()
                integral = false
            }
            val t = s.substring(start, i)
            if (integral) t.toLongOrNull()?.let { return it }
            val d = t.toDouble() // the grammar above is a subset of Java's: cannot throw
            if (d.isInfinite()) { i = start; fail("number out of range") }
            return d
        }
    }
}
