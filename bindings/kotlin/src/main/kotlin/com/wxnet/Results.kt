package com.wxnet

/*
 * Typed results of wx.request / uploadFile / downloadFile: what `await()` returns. Each keeps
 * the raw event ([RequestResult.event]: the wx `res` JSON to forward to JavaScript, and its
 * parsed map) for hosts that need the exact object.
 */

/** How a request's body was delivered (`res.dataKind`). */
enum class DataKind {
    /** UTF-8 text that parsed as JSON (a host can `JSON.parse` it). */
    JSON,

    /** UTF-8 text. */
    TEXT,

    /** Raw bytes (`responseType: "arraybuffer"`). */
    ARRAYBUFFER,
    ;

    internal companion object {
        fun of(s: Any?): DataKind = when (s) {
            "json" -> JSON
            "arraybuffer" -> ARRAYBUFFER
            else -> TEXT
        }
    }
}

/**
 * The `profile` object of a request, upload or download: timestamps in ms since the epoch
 * (fractional; 0 when not measured), the peer, the protocol and byte counts. A response the
 * HTTP cache served has [peerIP] "" and [receivedBytesCount] 0.
 */
data class Profile(
    val invokeStart: Double,
    val queueStart: Double,
    val queueEnd: Double,
    val fetchStart: Double,
    val redirectStart: Double,
    val redirectEnd: Double,
    val domainLookUpStart: Double,
    val domainLookUpEnd: Double,
    val connectStart: Double,
    val connectEnd: Double,
    val sslConnectionStart: Double,
    val sslConnectionEnd: Double,
    val requestStart: Double,
    val requestEnd: Double,
    val responseStart: Double,
    val responseEnd: Double,
    val rtt: Double,
    val estimateNettype: Int,
    val httpRttEstimate: Double,
    val transportRttEstimate: Double,
    val downstreamThroughputKbpsEstimate: Double,
    val throughputKbps: Double,
    /** The server's IP address ("" for a cache hit). */
    val peerIP: String,
    val port: Int,
    /** "http1.1", "h2" or "h3". */
    val protocol: String,
    val socketReused: Boolean,
    val sendBytesCount: Long,
    /** wx's `receivedBytedCount` (WeChat's spelling). */
    val receivedBytesCount: Long,
) {
    internal companion object {
        fun of(m: Map<*, *>?): Profile {
            val p = m ?: emptyMap<String, Any?>()
            fun d(k: String) = (p[k] as? Number)?.toDouble() ?: 0.0
            fun l(k: String) = (p[k] as? Number)?.toLong() ?: 0L
            return Profile(
                invokeStart = d("invokeStart"), queueStart = d("queueStart"), queueEnd = d("queueEnd"),
                fetchStart = d("fetchStart"), redirectStart = d("redirectStart"), redirectEnd = d("redirectEnd"),
                domainLookUpStart = d("domainLookUpStart"), domainLookUpEnd = d("domainLookUpEnd"),
                connectStart = d("connectStart"), connectEnd = d("connectEnd"),
                sslConnectionStart = d("SSLconnectionStart"), sslConnectionEnd = d("SSLconnectionEnd"),
                requestStart = d("requestStart"), requestEnd = d("requestEnd"),
                responseStart = d("responseStart"), responseEnd = d("responseEnd"),
                rtt = d("rtt"), estimateNettype = l("estimate_nettype").toInt(),
                httpRttEstimate = d("httpRttEstimate"), transportRttEstimate = d("transportRttEstimate"),
                downstreamThroughputKbpsEstimate = d("downstreamThroughputKbpsEstimate"),
                throughputKbps = d("throughputKbps"),
                peerIP = p["peerIP"] as? String ?: "", port = l("port").toInt(),
                protocol = p["protocol"] as? String ?: "", socketReused = p["socketReused"] == true,
                sendBytesCount = l("sendBytesCount"), receivedBytesCount = l("receivedBytedCount"),
            )
        }
    }
}

/** Response header fields: wx's `header` object, looked up without regard to case. */
class Headers internal constructor(map: Map<*, *>?) {
    /** The fields in the order received (repeated fields joined with ", "; no Set-Cookie). */
    val fields: Map<String, String> = LinkedHashMap<String, String>().also { out ->
        map?.forEach { (k, v) -> if (k is String) out[k] = v?.toString() ?: "" }
    }

    private val lower = fields.entries.associate { it.key.lowercase() to it.value }

    /** The value of [name] (any case), or `null`. */
    operator fun get(name: String): String? = lower[name.lowercase()]

    override fun toString() = fields.toString()
}

private fun cookiesOf(v: Any?): List<String> = (v as? List<*>)?.map { it.toString() } ?: emptyList()

/** A wx.request `success`: any HTTP status the server answered (404 and 500 included). */
class RequestResult internal constructor(
    /** The raw event: [Event.json] is the wx `res` to forward to JavaScript, [Event.data] the body. */
    val event: Event.Success,
) {
    val errMsg: String get() = event.errMsg
    val statusCode: Int get() = event.statusCode
    val header: Headers = Headers(event.res["header"] as? Map<*, *>)

    /** The raw `Set-Cookie` values. */
    val cookies: List<String> = cookiesOf(event.res["cookies"])
    val dataKind: DataKind = DataKind.of(event.res["dataKind"])

    /** The body (UTF-8 text, or the raw bytes for [DataKind.ARRAYBUFFER]); empty when none. */
    val data: ByteArray get() = event.data ?: EMPTY
    val profile: Profile by lazy { Profile.of(event.res["profile"] as? Map<*, *>) }

    /** The body as UTF-8 text. */
    fun text(): String = event.text()

    override fun toString() = "RequestResult(statusCode=$statusCode, dataKind=$dataKind, ${data.size} bytes)"

    companion object {
        private val EMPTY = ByteArray(0)

        /** The typed view of a request's success [event] (as a listener receives it). */
        @JvmStatic
        fun of(event: Event.Success) = RequestResult(event)
    }
}

/** A wx.uploadFile `success`: the server's status and answer. */
class UploadResult internal constructor(
    /** The raw event ([Event.json] is the wx `res`). */
    val event: Event.Success,
) {
    val errMsg: String get() = event.errMsg
    val statusCode: Int get() = event.statusCode

    /** The server's response text (wx's `res.data`). */
    val data: String get() = event.res["data"] as? String ?: event.text()
    val profile: Profile by lazy { Profile.of(event.res["profile"] as? Map<*, *>) }

    override fun toString() = "UploadResult(statusCode=$statusCode, ${data.length} chars)"

    companion object {
        /** The typed view of an upload's success [event]. */
        @JvmStatic
        fun of(event: Event.Success) = UploadResult(event)
    }
}

/** A wx.downloadFile `success` (for any status: the body is saved whatever the status). */
class DownloadResult internal constructor(
    /** The raw event ([Event.json] is the wx `res`). */
    val event: Event.Success,
) {
    val errMsg: String get() = event.errMsg
    val statusCode: Int get() = event.statusCode

    /** The new temp file (`wxfile://tmp_…`) when no `filePath` was given, else `null`. */
    val tempFilePath: String? get() = event.res["tempFilePath"] as? String

    /** The `filePath` given in the options, else `null`. */
    val filePath: String? get() = event.res["filePath"] as? String

    /** Where the file is: [filePath] or [tempFilePath] (a `wxfile://` sandbox path). */
    val path: String get() = filePath ?: tempFilePath ?: ""
    val profile: Profile by lazy { Profile.of(event.res["profile"] as? Map<*, *>) }

    override fun toString() = "DownloadResult(statusCode=$statusCode, path=$path)"

    companion object {
        /** The typed view of a download's success [event]. */
        @JvmStatic
        fun of(event: Event.Success) = DownloadResult(event)
    }
}

/**
 * Upload or download progress (wx `onProgressUpdate`): [progress] 0-100, [bytesDone]
 * (`totalBytesSent` / `totalBytesWritten`) of [bytesExpected] (`totalBytesExpectedToSend` /
 * `…ToWrite`; 0 when unknown).
 */
data class TransferProgress(val progress: Int, val bytesDone: Long, val bytesExpected: Long) {
    internal companion object {
        fun of(e: Event.Progress): TransferProgress {
            val r = e.res
            fun l(a: String, b: String) = ((r[a] ?: r[b]) as? Number)?.toLong() ?: 0L
            return TransferProgress(
                e.progress,
                l("totalBytesSent", "totalBytesWritten"),
                l("totalBytesExpectedToSend", "totalBytesExpectedToWrite"),
            )
        }
    }
}
