import CWxnet
import Foundation
import XCTest
@testable import WxNet

/// The project's test server (`wxnet-testserver`, path in `$WXNET_TESTSERVER`), started once
/// per test process; it stops when its stdin closes (at process exit at the latest).
final class TestServer: @unchecked Sendable {
    static let shared: TestServer = {
        do { return try TestServer() } catch { fatalError("cannot start wxnet-testserver: \(error)") }
    }()

    let dir: URL
    let httpsPort: Int
    let caPem: String
    private let process = Process()
    private let stdin = Pipe()

    private init() throws {
        guard let bin = ProcessInfo.processInfo.environment["WXNET_TESTSERVER"] else {
            throw TestError("set WXNET_TESTSERVER to the wxnet-testserver binary")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("wxnet-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--ca-file", dir.appendingPathComponent("ca.pem").path]
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let info = try JSONSerialization.jsonObject(with: line) as? [String: Any],
              let port = info["https"] as? Int, let ca = info["ca"] as? String
        else { throw TestError("bad first line from wxnet-testserver: \(String(decoding: line, as: UTF8.self))") }
        httpsPort = port
        caPem = try String(contentsOfFile: ca, encoding: .utf8)
    }

    static let hostnames = ["api.wxnet.test", "ws.wxnet.test", "up.wxnet.test", "cdn.wxnet.test", "other.wxnet.test"]
}

/// Sandbox directories of one test app.
struct Sandbox {
    let root: URL
    var temp: URL { root.appendingPathComponent("tmp") }
    var usr: URL { root.appendingPathComponent("usr") }

    init() {
        root = TestServer.shared.dir.appendingPathComponent("app-\(UUID().uuidString)")
        for d in [root.appendingPathComponent("tmp"), root.appendingPathComponent("usr")] {
            try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
    }
}

func jsonString(_ s: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [s])
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}

/// A config whose listed domains all pin to the test server, full policy on.
func testConfig(_ sandbox: Sandbox = Sandbox(), extra: String = "") -> String {
    let server = TestServer.shared
    let pin = jsonString("127.0.0.1:\(server.httpsPort)")
    let resolve = TestServer.hostnames.map { "\(jsonString("\($0):443")):\(pin)" }.joined(separator: ",")
    return """
    {"appId":"wxswifttest","version":"0",
     "domains":{"request":["https://api.wxnet.test"],"socket":["wss://ws.wxnet.test"],
                "uploadFile":["https://up.wxnet.test"],"downloadFile":["https://cdn.wxnet.test"]},
     "caCertificates":[\(jsonString(server.caPem))],
     "resolve":{\(resolve)},
     "tempDir":\(jsonString(sandbox.temp.path)),"userDataDir":\(jsonString(sandbox.usr.path))\(extra)}
    """
}

func api(_ path: String) -> String { "https://api.wxnet.test\(path)" }

/// Collects events from a handler (dispatcher thread), readable from the test, which can
/// wait (on a condition, with a bound) until they satisfy a predicate.
final class Recorder: @unchecked Sendable {
    private let changed = NSCondition()
    private var list: [Event] = []
    private var threadIDs: Set<ObjectIdentifier> = []

    var events: [Event] {
        changed.lock()
        defer { changed.unlock() }
        return list
    }

    var threads: Int {
        changed.lock()
        defer { changed.unlock() }
        return threadIDs.count
    }

    var handler: @Sendable (Event) -> Void {
        { [self] ev in
            changed.lock()
            list.append(ev)
            threadIDs.insert(ObjectIdentifier(Thread.current))
            changed.broadcast()
            changed.unlock()
        }
    }

    /// Blocks until `done(events)` holds; throws after `timeout` seconds.
    func wait(_ timeout: Double = 20, for what: String, until done: ([Event]) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        changed.lock()
        defer { changed.unlock() }
        while !done(list) {
            if !changed.wait(until: deadline) && !done(list) {
                throw TestError("timed out waiting for \(what)")
            }
        }
    }

    /// Blocks until `count` events of `kind` arrived.
    func wait(_ timeout: Double = 20, forKind kind: EventKind, count: Int = 1) throws {
        try wait(timeout, for: "\(count) \(kind) event(s)") { $0.filter { $0.kind == kind }.count >= count }
    }

    /// The same for async tests: the blocking wait runs on its own thread, so it never holds
    /// one of the (few) threads Swift concurrency runs tasks on.
    func arrival(of kind: EventKind, count: Int = 1, timeout: Double = 20) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, Error>) in
            Thread.detachNewThread { [self] in
                do {
                    try wait(timeout, forKind: kind, count: count)
                    cont.resume()
                } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }
}

/// Runs `start`; a start refused with `invalidState` because the API is not implemented in
/// this build of the library skips the test with that reason.
func startOrSkip<T>(_ api: String, _ start: () async throws -> T) async throws -> T {
    do {
        return try await start()
    } catch let e as WxnetError where e.status == WXNET_E_INVALID_STATE && e.message.contains("not implemented") {
        throw XCTSkip("SKIPPED: wx.\(api) is not implemented in this build of the library yet (\(e))")
    }
}

/// Polls `cond` until true or `timeout` seconds pass.
func eventually(_ timeout: Double = 10, _ what: String = "condition", _ cond: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !cond() {
        if Date() > deadline { throw TestError("timed out waiting for \(what)") }
        usleep(5_000)
    }
}

/// Resident set size in bytes (Linux /proc), or -1.
func rssBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return -1 }
    let parts = line.split(separator: " ", omittingEmptySubsequences: true)
    return (Int(parts[1]) ?? -1) * 1024
}

/// A test setup or wait failure.
struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
