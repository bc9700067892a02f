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
    /// The C ABI version of the library loaded at run time (`wxnet_abi_version()`); settable
    /// by the tests only.
    nonisolated(unsafe) static var loadedAbiVersion = Int(wxnet_abi_version())

    /// Before the first call that hands the library anything (an app, a log handler): a
    /// library of another C ABI version than this module's header may lay out its events
    /// and number its statuses differently, so it is not used at all.
    static func requireMatchingAbi() throws {
        let loaded = loadedAbiVersion
        if loaded != abiVersion {
            throw WxnetError.invalidState(
                "the loaded libwxnet implements C ABI version \(loaded), this module was compiled against version \(abiVersion): use the library and the Swift package of one release")
        }
    }
    /// The static description of a status code.
    public static func statusText(_ status: Int32) -> String { String(cString: wxnet_status_str(status)) }

    /// Log levels of `setLogger`.
    public static let logError: Int32 = 1, logWarn: Int32 = 2, logInfo: Int32 = 3, logDebug: Int32 = 4, logTrace: Int32 = 5

    /// Sets the process-wide log handler (nil: logging off). It may be called from any library
    /// thread, concurrently, and never receives URLs with their query strings, header values
    /// or bodies.
    ///
    /// When this returns, the previous handler is not running on another thread and is never
    /// called again; it is released then, or when a call of it still running on the calling
    /// thread returns. A handler may call `setLogger` itself (e.g. to remove itself); if
    /// another thread is replacing the handler at that moment (and so waits for this call of
    /// the handler to return), the call from inside returns at once and that other thread
    /// installs its request (the later one) before its own `setLogger` returns.
    public static func setLogger(maxLevel: Int32 = logInfo, _ handler: (@Sendable (Int32, String) -> Void)?) throws {
        try requireMatchingAbi()
        try LogSlot.shared.replace(handler.map(LogBox.init), maxLevel: maxLevel)
    }
}

/// The one log callback the library is ever given. Its `ud` is NULL: the handler to call is
/// read from `LogSlot`, with a reference of its own for the duration of the call, so a
/// handler replaced (even from inside itself) is released when no call of it runs, never
/// before, and replaced handlers do not pile up.
private let logTrampoline: wxnet_log_callback = { _, level, msg, len in
    guard let msg, let box = LogSlot.shared.current else { return }
    let text = String(decoding: UnsafeRawBufferPointer(start: msg, count: len), as: UTF8.self)
    let previous = pthread_getspecific(insideLogHandlerKey)
    pthread_setspecific(insideLogHandlerKey, UnsafeMutableRawPointer(bitPattern: 1))
    defer { pthread_setspecific(insideLogHandlerKey, previous) }
    box.handler(level, text)
}

/// Non-nil on a thread that is running the log handler.
private let insideLogHandlerKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
}()

/// The current log handler and the serialized native replacement of it.
///
/// `wxnet_set_log_callback` waits for a running call of the old callback to return, and that
/// call may itself replace the handler, so no lock is held across the native call: one thread
/// at a time (the applier) installs the latest requested handler, looping until no newer
/// request came meanwhile; other requests wait for it, except one made from inside the
/// handler while another thread applies (that thread may be waiting for this very call to
/// return): it is left to the applier and returns at once.
final class LogSlot: @unchecked Sendable {
    static let shared = LogSlot()

    private let cond = NSCondition()
    /// What the trampoline calls (nil: nothing).
    private var calling: LogBox?
    /// What the library was last given successfully.
    private var installed: LogBox?
    private var desired: (box: LogBox?, maxLevel: Int32) = (nil, WxNet.logInfo)
    /// Sequence numbers of the latest request and of the latest one installed.
    private var requested = 0
    private var applied = 0
    private var applying = false

    /// The handler for one call of the trampoline (a strong reference of the caller's own).
    var current: LogBox? {
        cond.lock()
        defer { cond.unlock() }
        return calling
    }

    func replace(_ box: LogBox?, maxLevel: Int32) throws {
        let inside = pthread_getspecific(insideLogHandlerKey) != nil
        // Replaced handlers are released after the lock is let go (their deinit is user code).
        var released: [LogBox?] = []
        defer { withExtendedLifetime(released) {} }
        cond.lock()
        requested += 1
        let mine = requested
        desired = (box, maxLevel)
        while applying {
            if inside {
                cond.unlock()
                return // the applier may be waiting for our caller to return; it installs this
            }
            cond.wait()
        }
        if applied >= mine {
            cond.unlock()
            return // installed by another thread (this request or a later one)
        }
        applying = true
        while true {
            let (seq, (value, level)) = (requested, desired)
            // Published before the native call: a call in between gets the new handler (or
            // none), never one that is being replaced.
            released.append(calling)
            calling = value
            cond.unlock()
            let status = value == nil
                ? wxnet_set_log_callback(nil, nil, level)
                : wxnet_set_log_callback(logTrampoline, nil, level)
            let error = status == WXNET_OK ? nil : WxnetError.last(status)
            cond.lock()
            if let error {
                released.append(calling)
                calling = installed
                applying = false
                cond.broadcast()
                cond.unlock()
                throw error
            }
            released.append(installed)
            installed = value
            applied = seq
            cond.broadcast()
            if requested == seq {
                applying = false
                cond.unlock()
                return
            }
        }
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
    init(_ handler: @escaping @Sendable (Int32, String) -> Void) {
        self.handler = handler
        LogBox.count(+1)
    }

    deinit { LogBox.count(-1) }

    private static let countLock = NSLock()
    nonisolated(unsafe) private static var liveCount = 0
    static var live: Int {
        countLock.lock()
        defer { countLock.unlock() }
        return liveCount
    }
    private static func count(_ delta: Int) {
        countLock.lock()
        liveCount += delta
        countLock.unlock()
    }
}
