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
            throw WxnetError(status: -1, detail: "set WXNET_TESTSERVER to the wxnet-testserver binary")
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
        else { throw WxnetError(status: -1, detail: "bad first line from wxnet-testserver: \(String(decoding: line, as: UTF8.self))") }
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

/// Collects events from a handler (dispatcher thread), readable from the test.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Event] = []
    private var threadIDs: Set<ObjectIdentifier> = []

    var events: [Event] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }

    var threads: Int {
        lock.lock()
        defer { lock.unlock() }
        return threadIDs.count
    }

    var handler: @Sendable (Event) -> Void {
        { [self] ev in
            lock.lock()
            list.append(ev)
            threadIDs.insert(ObjectIdentifier(Thread.current))
            lock.unlock()
        }
    }
}

/// Runs `start`; a start refused with `invalidState` because the API is not implemented in
/// this build of the library skips the test with that reason.
func startOrSkip<T>(_ api: String, _ start: () async throws -> T) async throws -> T {
    do {
        return try await start()
    } catch let e as WxnetError where e.status == WxnetError.invalidState && e.detail.contains("not implemented") {
        throw XCTSkip("SKIPPED: wx.\(api) is not implemented in this build of the library yet (\(e))")
    }
}

/// Polls `cond` until true or `timeout` seconds pass.
func eventually(_ timeout: Double = 10, _ what: String = "condition", _ cond: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !cond() {
        if Date() > deadline { throw WxnetError(status: -1, detail: "timed out waiting for \(what)") }
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
