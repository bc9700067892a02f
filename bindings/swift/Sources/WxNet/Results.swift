import Foundation

// Typed wx `res` objects, decoded from an event's JSON with `JSONDecoder`:
//
//     let ok = try await app.request(options).decode(RequestSuccess.self)
//     print(ok.statusCode, ok.header["content-type"] ?? "", ok.profile.peerIP, ok.text)
//
// Field names are wx's (see the project's docs/wx-network contract); timestamps are
// milliseconds, 0 when not measured.

/// What the body of a request turned into (`res.dataKind`).
public enum DataKind: String, Codable, Sendable {
    /// The body is text that parses as JSON (a mini-program gets the parsed value).
    case json
    /// UTF-8 text.
    case text
    /// Raw bytes (`responseType: "arraybuffer"`).
    case arraybuffer
}

/// The `profile` of a request, upload or download: ms timestamps of each phase and the
/// connection used.
public struct Profile: Codable, Sendable, Equatable {
    public let invokeStart, queueStart, queueEnd, fetchStart, redirectStart, redirectEnd: Double
    public let domainLookUpStart, domainLookUpEnd, connectStart, connectEnd: Double
    public let sslConnectionStart, sslConnectionEnd: Double
    public let requestStart, requestEnd, responseStart, responseEnd, rtt: Double
    /// wx `estimate_nettype`.
    public let estimateNettype: Int
    public let httpRttEstimate, transportRttEstimate, downstreamThroughputKbpsEstimate, throughputKbps: Double
    /// The server's IP address.
    public let peerIP: String
    public let port: Int
    /// `"http1.1"`, `"h2"` or `"h3"`.
    public let `protocol`: String
    /// Whether a pooled connection was reused.
    public let socketReused: Bool
    public let sendBytesCount: Int
    /// wx `receivedBytedCount` (WeChat's spelling).
    public let receivedBytesCount: Int

    enum CodingKeys: String, CodingKey {
        case invokeStart, queueStart, queueEnd, fetchStart, redirectStart, redirectEnd
        case domainLookUpStart, domainLookUpEnd, connectStart, connectEnd
        case sslConnectionStart = "SSLconnectionStart", sslConnectionEnd = "SSLconnectionEnd"
        case requestStart, requestEnd, responseStart, responseEnd, rtt
        case estimateNettype = "estimate_nettype"
        case httpRttEstimate, transportRttEstimate, downstreamThroughputKbpsEstimate, throughputKbps
        case peerIP, port, `protocol`, socketReused, sendBytesCount
        case receivedBytesCount = "receivedBytedCount"
    }
}

/// The `profile` of a socket's open event.
public struct SocketProfile: Codable, Sendable, Equatable {
    public let fetchStart, domainLookUpStart, domainLookUpEnd, connectStart, connectEnd: Double
    public let rtt, handshakeCost, cost: Double
}

/// wx.request success: `{errMsg, statusCode, header, cookies, profile, dataKind}` plus the
/// body (the event's payload) in `data`.
public struct RequestSuccess: Decodable, Sendable {
    public let errMsg: String
    /// The HTTP status (a 404 is a success too).
    public let statusCode: Int
    /// Response headers (repeated ones joined with ", "; Set-Cookie is in `cookies`).
    public let header: [String: String]
    /// The raw `Set-Cookie` values.
    public let cookies: [String]
    public let profile: Profile
    public let dataKind: DataKind?
    /// The body: UTF-8 text (`json`, `text`) or raw bytes (`arraybuffer`).
    public let data: Data

    /// The body as UTF-8 text.
    public var text: String { String(decoding: data, as: UTF8.self) }

    /// The body decoded as JSON into `type`; a body of another shape throws
    /// `WxnetError.unexpectedResult`.
    public func json<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw WxnetError.unexpectedResult("body as \(T.self): \(error)")
        }
    }

    enum CodingKeys: String, CodingKey { case errMsg, statusCode, header, cookies, profile, dataKind }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        errMsg = try c.decode(String.self, forKey: .errMsg)
        statusCode = try c.decode(Int.self, forKey: .statusCode)
        header = try c.decode([String: String].self, forKey: .header)
        cookies = try c.decodeIfPresent([String].self, forKey: .cookies) ?? []
        profile = try c.decode(Profile.self, forKey: .profile)
        dataKind = try c.decodeIfPresent(DataKind.self, forKey: .dataKind)
        data = decoder.userInfo[.wxnetPayload] as? Data ?? Data()
    }
}

/// The headers event of a request, upload or download: `{statusCode, header, cookies}`
/// (uploads and downloads report `header` only).
public struct HeadersReceived: Decodable, Sendable {
    public let statusCode: Int?
    public let header: [String: String]
    public let cookies: [String]?
}

/// wx.uploadFile success: `{errMsg, statusCode, data, profile}`; `data` is the server's
/// answer as text.
public struct UploadSuccess: Decodable, Sendable {
    public let errMsg: String
    public let statusCode: Int
    /// The server's response body as text.
    public let data: String
    public let profile: Profile

    enum CodingKeys: String, CodingKey { case errMsg, statusCode, data, profile }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        errMsg = try c.decode(String.self, forKey: .errMsg)
        statusCode = try c.decode(Int.self, forKey: .statusCode)
        profile = try c.decode(Profile.self, forKey: .profile)
        // The library sends the answer as the event's payload; a `data` field in the JSON is
        // accepted too.
        if let text = try c.decodeIfPresent(String.self, forKey: .data) {
            data = text
        } else {
            data = String(decoding: decoder.userInfo[.wxnetPayload] as? Data ?? Data(), as: UTF8.self)
        }
    }
}

/// wx.downloadFile success: `{errMsg, statusCode, tempFilePath | filePath, profile}`.
public struct DownloadSuccess: Codable, Sendable {
    public let errMsg: String
    /// The HTTP status (the body is saved whatever it is).
    public let statusCode: Int
    /// The new temp file (`wxfile://tmp_…`) when the options had no `filePath`.
    public let tempFilePath: String?
    /// The options' `filePath` (`wxfile://usr/…`) when they had one.
    public let filePath: String?
    public let profile: Profile

    /// Where the body is: `tempFilePath` or `filePath` (`App.resolvePath` gives the real path).
    public var path: String { tempFilePath ?? filePath ?? "" }
}

/// Upload (`totalBytesSent`, `totalBytesExpectedToSend`) or download (`totalBytesWritten`,
/// `totalBytesExpectedToWrite`) progress.
public struct TransferProgress: Codable, Sendable, Equatable {
    /// 0-100.
    public let progress: Int
    public let totalBytesSent, totalBytesExpectedToSend: Int?
    public let totalBytesWritten, totalBytesExpectedToWrite: Int?
}

/// The socket's open event: `{header, profile}`.
public struct SocketOpen: Codable, Sendable {
    /// The handshake response's headers.
    public let header: [String: String]
    public let profile: SocketProfile
}

/// The socket's close event: `{code, reason}`.
public struct SocketClose: Codable, Sendable, Equatable {
    public let code: Int
    public let reason: String
}

/// A FAIL event: `{errMsg, errno}`.
public struct Failure: Codable, Sendable, Equatable {
    public let errMsg: String
    public let errno: Int
}
