import CWxnet
import Foundation

/// The kind of an event (`WXNET_EVENT_*`).
public enum EventKind: Int32, Sendable {
    /// Terminal: the wx `success` res. Request: `data` holds the body.
    case success = 1
    /// Terminal: `{errMsg, errno}`.
    case fail = 2
    /// `{statusCode, header, cookies}` before the body.
    case headersReceived = 3
    /// Upload/download progress object.
    case progress = 4
    /// `{}` with the chunk in `data` (request with `enableChunked`).
    case chunkReceived = 5
    /// The socket opened: `{header, profile}`.
    case socketOpen = 10
    /// `{"dataKind": "text"|"arraybuffer"}` with the message in `data`.
    case socketMessage = 11
    /// `{errMsg}`.
    case socketError = 12
    /// Terminal for sockets: `{code, reason}`.
    case socketClose = 13
}

/// One event of a task: `json` is the wx `res` object, exactly what a mini-program's
/// JavaScript callback receives; `data` is the binary payload (body, chunk, message) or nil.
public struct Event: Sendable, CustomStringConvertible {
    /// The task this event belongs to.
    public let task: UInt64
    /// The raw `WXNET_EVENT_*` number (see `kind`).
    public let rawKind: Int32
    /// The wx `res` object (UTF-8 JSON text).
    public let json: String
    /// The binary payload, or nil.
    public let data: Data?

    /// `json` parsed once, on first use of `res`, and shared by every copy of this event.
    let parsed: ParsedRes

    /// The kind, or nil for a kind this binding does not know (a newer library).
    public var kind: EventKind? { EventKind(rawValue: rawKind) }

    /// `json` as a dictionary (empty if it is not an object). Parsed once, on first access
    /// (from any thread); later accesses return the same dictionary. For typed access use
    /// `decode(_:)` with `RequestSuccess`, `DownloadSuccess`, `UploadSuccess`, `SocketOpen`...
    public var res: [String: Any] { parsed.object(json) }

    /// Decodes `json` with `JSONDecoder` into `type` (e.g. `RequestSuccess`); result types
    /// that carry the payload (`RequestSuccess.data`, `UploadSuccess.data`) get `data` too.
    /// A `res` of another shape throws `WxnetError.unexpectedResult`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.userInfo[.wxnetPayload] = data ?? Data()
        do {
            return try decoder.decode(type, from: Data(json.utf8))
        } catch {
            throw WxnetError.unexpectedResult("\(T.self) from \(kind.map { "\($0)" } ?? "\(rawKind)") event: \(error)")
        }
    }

    /// `data` as UTF-8 text ("" when there is none).
    public var text: String { data.map { String(decoding: $0, as: UTF8.self) } ?? "" }

    /// `res.errMsg`, if any.
    public var errMsg: String? { res["errMsg"] as? String }

    /// `res.statusCode`, if any.
    public var statusCode: Int? { (res["statusCode"] as? NSNumber)?.intValue }

    public var description: String {
        "Event(task: \(task), kind: \(kind.map { "\($0)" } ?? "\(rawKind)"), json: \(json), data: \(data?.count ?? 0) bytes)"
    }

    /// Copies a borrowed C event (valid only during the callback).
    init(copying ev: UnsafePointer<wxnet_event>) {
        let e = ev.pointee
        task = e.task
        rawKind = e.kind
        if let p = e.json {
            json = String(decoding: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: e.json_len), as: UTF8.self)
        } else {
            json = "{}"
        }
        if let p = e.data, e.data_len > 0 {
            data = Data(bytes: p, count: e.data_len)
        } else {
            data = nil
        }
        parsed = ParsedRes()
    }

    init(task: UInt64, rawKind: Int32, json: String, data: Data?) {
        self.task = task
        self.rawKind = rawKind
        self.json = json
        self.data = data
        parsed = ParsedRes()
    }
}

/// Library-wide information.
public enum WxNet {
    /// The native library's version, e.g. "0.1.0".
    public static var version: String { String(cString: wxnet_version()) }
    /// The ABI version of the header this module was compiled against.
    public static let abiVersion = Int(WXNET_ABI_VERSION)
    /// The static description of a status code.
    public static func statusText(_ status: Int32) -> String { String(cString: wxnet_status_str(status)) }

    /// Log levels of `setLogger`.
    public static let logError: Int32 = 1, logWarn: Int32 = 2, logInfo: Int32 = 3, logDebug: Int32 = 4, logTrace: Int32 = 5

    private static let loggerLock = NSLock()
    nonisolated(unsafe) private static var logger: Unmanaged<LogBox>?

    /// Sets the process-wide log handler (nil: logging off). It may be called from any library
    /// thread, concurrently, and never receives URLs with their query strings, header values
    /// or bodies. It must not call `setLogger` itself.
    public static func setLogger(maxLevel: Int32 = logInfo, _ handler: (@Sendable (Int32, String) -> Void)?) throws {
        loggerLock.lock()
        defer { loggerLock.unlock() }
        let new = handler.map { Unmanaged.passRetained(LogBox($0)) }
        let status: wxnet_status
        if let new {
            status = wxnet_set_log_callback({ ud, level, msg, len in
                guard let ud, let msg else { return }
                let text = String(decoding: UnsafeRawBufferPointer(start: msg, count: len), as: UTF8.self)
                Unmanaged<LogBox>.fromOpaque(ud).takeUnretainedValue().handler(level, text)
            }, new.toOpaque(), maxLevel)
        } else {
            status = wxnet_set_log_callback(nil, nil, maxLevel)
        }
        if status != WXNET_OK {
            let error = WxnetError.last(status)
            new?.release()
            throw error
        }
        // Once replaced, the library calls the old handler no more.
        logger?.release()
        logger = new
    }
}

/// The lazily parsed `res` of one event: parsed at most once, under a lock.
/// `@unchecked Sendable`: `value` is only touched under `lock`, and the dictionary
/// JSONSerialization returns holds immutable values (strings, numbers, arrays,
/// dictionaries), so sharing it between threads is safe.
final class ParsedRes: @unchecked Sendable {
    private let lock = NSLock()
    private var value: [String: Any]?
    private var parseCount = 0

    /// How many times this event's JSON was parsed (0 before the first `res`, then 1).
    var parses: Int {
        lock.lock()
        defer { lock.unlock() }
        return parseCount
    }

    func object(_ json: String) -> [String: Any] {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        parseCount += 1
        let parsed = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        value = parsed
        return parsed
    }
}

extension CodingUserInfoKey {
    /// The event's binary payload, for result types that carry it (`Event.decode`).
    static let wxnetPayload = CodingUserInfoKey(rawValue: "wxnet.payload")!
}

final class LogBox: @unchecked Sendable {
    let handler: @Sendable (Int32, String) -> Void
    init(_ handler: @escaping @Sendable (Int32, String) -> Void) { self.handler = handler }
}
