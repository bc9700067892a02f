import CWxnet
import Foundation
import XCTest
@testable import WxNet

final class HeaderTests: XCTestCase {
    /// The CWxnet module map must point at the project's include/wxnet.h (not a copy), and
    /// the library loaded at run time must match that header.
    func testModuleUsesTheProjectHeader() throws {
        let here = URL(fileURLWithPath: #filePath)
        let package = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let modulemap = package.appendingPathComponent("Sources/CWxnet/module.modulemap")
        let text = try String(contentsOf: modulemap, encoding: .utf8)
        let headerLine = try XCTUnwrap(text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("header ") })
        let relative = try XCTUnwrap(headerLine.split(separator: "\"").dropFirst().first)
        let resolved = modulemap.deletingLastPathComponent().appendingPathComponent(String(relative)).standardizedFileURL.resolvingSymlinksInPath()
        let project = package.appendingPathComponent("../../include/wxnet.h").standardizedFileURL.resolvingSymlinksInPath()
        XCTAssertEqual(resolved.path, project.path, "the module map must use the project's header")
        if let env = ProcessInfo.processInfo.environment["WXNET_HEADER"] {
            XCTAssertEqual(URL(fileURLWithPath: env).standardizedFileURL.resolvingSymlinksInPath().path, project.path)
        }

        // The constants Swift imported are the ones in the header's text.
        let header = try String(contentsOf: project, encoding: .utf8)
        var defines: [String: Int32] = [:]
        for line in header.split(separator: "\n") where line.hasPrefix("#define WXNET_") {
            let parts = line.split(separator: " ")
            if parts.count >= 3, let v = Int32(parts[2]) { defines[String(parts[1])] = v }
        }
        let imported: [String: Int32] = [
            "WXNET_ABI_VERSION": Int32(WXNET_ABI_VERSION), "WXNET_OK": WXNET_OK,
            "WXNET_E_NULL_ARGUMENT": WXNET_E_NULL_ARGUMENT, "WXNET_E_INVALID_ARGUMENT": WXNET_E_INVALID_ARGUMENT,
            "WXNET_E_INVALID_CONFIG": WXNET_E_INVALID_CONFIG, "WXNET_E_UNKNOWN_TASK": WXNET_E_UNKNOWN_TASK,
            "WXNET_E_INVALID_STATE": WXNET_E_INVALID_STATE, "WXNET_E_WRONG_MODE": WXNET_E_WRONG_MODE,
            "WXNET_E_WOULD_DEADLOCK": WXNET_E_WOULD_DEADLOCK, "WXNET_E_CLOSED": WXNET_E_CLOSED, "WXNET_E_PANIC": WXNET_E_PANIC,
            "WXNET_EVENT_SUCCESS": Int32(WXNET_EVENT_SUCCESS), "WXNET_EVENT_FAIL": Int32(WXNET_EVENT_FAIL),
            "WXNET_EVENT_HEADERS_RECEIVED": Int32(WXNET_EVENT_HEADERS_RECEIVED), "WXNET_EVENT_PROGRESS": Int32(WXNET_EVENT_PROGRESS),
            "WXNET_EVENT_CHUNK_RECEIVED": Int32(WXNET_EVENT_CHUNK_RECEIVED), "WXNET_EVENT_SOCKET_OPEN": Int32(WXNET_EVENT_SOCKET_OPEN),
            "WXNET_EVENT_SOCKET_MESSAGE": Int32(WXNET_EVENT_SOCKET_MESSAGE), "WXNET_EVENT_SOCKET_ERROR": Int32(WXNET_EVENT_SOCKET_ERROR),
            "WXNET_EVENT_SOCKET_CLOSE": Int32(WXNET_EVENT_SOCKET_CLOSE),
        ]
        for (name, value) in imported {
            XCTAssertEqual(defines[name], value, name)
        }
        for kind in [EventKind.success, .fail, .headersReceived, .progress, .chunkReceived, .socketOpen, .socketMessage, .socketError, .socketClose] {
            XCTAssertTrue(defines.values.contains(kind.rawValue), "\(kind)")
        }
        // The library at run time is the version the header describes.
        XCTAssertEqual(WxNet.version, "\(WXNET_VERSION_MAJOR).\(WXNET_VERSION_MINOR).\(WXNET_VERSION_PATCH)")
    }
}

final class RequestTests: XCTestCase {
    func testInvalidConfigThrowsWithTheField() {
        XCTAssertThrowsError(try App(config: #"{"appId":"x","noSuchField":1}"#)) { error in
            guard case let .invalidConfig(message)? = error as? WxnetError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("noSuchField"), message)
        }
    }

    func testGetJsonHeadersThenSuccess() async throws {
        let app = try App(config: testConfig())
        let rec = Recorder()
        let ok = try await app.request(#"{"url":"\#(api("/json"))"}"#, onEvent: rec.handler)
        let events = rec.events
        XCTAssertEqual(events.map(\.kind), [.headersReceived, .success])
        XCTAssertEqual(events[0].statusCode, 200)
        XCTAssertEqual(ok.errMsg, "request:ok")
        XCTAssertEqual(ok.statusCode, 200)
        XCTAssertEqual(ok.res["dataKind"] as? String, "json")
        let body = try JSONSerialization.jsonObject(with: ok.data ?? Data()) as? [String: Any]
        XCTAssertEqual(body?["hello"] as? String, "world")
        XCTAssertEqual((ok.res["profile"] as? [String: Any])?["peerIP"] as? String, "127.0.0.1")
        XCTAssertEqual(rec.threads, 1)
    }

    func testPostBinaryBodyIsSentAsIs() async throws {
        let app = try App(config: testConfig())
        let body = Data((0..<3000).map { UInt8($0 % 251) })
        let ok = try await app.request(#"{"url":"\#(api("/echo"))","method":"POST","header":{"content-type":"application/octet-stream"}}"#, body: body)
        let echo = try JSONSerialization.jsonObject(with: ok.data ?? Data()) as? [String: Any]
        XCTAssertEqual(echo?["method"] as? String, "POST")
        XCTAssertEqual(echo?["bodyLength"] as? Int, 3000)
    }

    func testHttpErrorIsSuccessAndPolicyViolationIsFail() async throws {
        let app = try App(config: testConfig())
        let notFound = try await app.request(#"{"url":"\#(api("/status/404"))"}"#)
        XCTAssertEqual(notFound.statusCode, 404)
        do {
            _ = try await app.request(#"{"url":"https://not-listed.example.com/json"}"#)
            XCTFail("expected a wx fail")
        } catch let WxnetError.fail(errMsg, errno) {
            XCTAssertEqual(errno, 600002)
            XCTAssertTrue(errMsg.hasPrefix("request:fail"), errMsg)
        }
    }

    func testMalformedOptionsThrowAndReleaseTheContext() async throws {
        let app = try App(config: testConfig())
        let before = TaskBox.live
        XCTAssertThrowsError(try app.startRequest("{not json")) { error in
            guard case .invalidArgument? = error as? WxnetError else { return XCTFail("\(error)") }
        }
        do {
            _ = try await app.request("[1,2]")
            XCTFail("expected WxnetError")
        } catch WxnetError.invalidArgument {
        }
        XCTAssertEqual(TaskBox.live, before, "a refused start releases its context at once")
    }

    func testAbortEndsWithFailAbort() throws {
        let app = try App(config: testConfig())
        let rec = Recorder()
        let task = try app.startRequest(#"{"url":"\#(api("/hang"))"}"#, onEvent: rec.handler)
        task.abort()
        task.abort()
        try rec.wait(forKind: .fail)
        XCTAssertEqual(rec.events.last?.errMsg, "request:fail abort")
        task.abort()
        XCTAssertEqual(rec.events.filter { $0.kind == .fail }.count, 1)
    }

    func testTaskCancellationAbortsTheRequest() async throws {
        let app = try App(config: testConfig())
        let rec = Recorder()
        // Headers at once, the body after a minute: the headers event says it is in flight.
        let task = Task { try await app.request(#"{"url":"\#(api("/delay-body/60000"))"}"#, onEvent: rec.handler) }
        try await rec.arrival(of: .headersReceived)
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected cancellation")
        } catch is CancellationError {
        }
        XCTAssertEqual(rec.events.last?.errMsg, "request:fail abort")
    }

    func testContextsAreReleasedExactlyOnce() async throws {
        let before = TaskBox.live
        do {
            let app = try App(config: testConfig())
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<200 {
                    group.addTask { (try await app.request(#"{"url":"\#(api(i % 2 == 0 ? "/json" : "/status/500"))"}"#)).statusCode ?? 0 }
                }
                var n = 0
                for try await code in group { XCTAssertTrue(code == 200 || code == 500); n += 1 }
                XCTAssertEqual(n, 200)
            }
            // Handler-style tasks too.
            for _ in 0..<50 { try app.startRequest(#"{"url":"\#(api("/json"))"}"#) }
            try eventually(20, "the handler tasks to end") { TaskBox.live == before }
        }
        XCTAssertEqual(TaskBox.live, before)
    }

    func testCloseWithTasksInFlightDeliversTerminalEventsFirst() throws {
        let before = TaskBox.live
        let app = try App(config: testConfig(extra: #","maxConcurrentRequests":2"#))
        let recs = (0..<6).map { _ in Recorder() }
        for rec in recs { try app.startRequest(#"{"url":"\#(api("/delay-body/60000"))"}"#, onEvent: rec.handler) }
        // Two in flight (their headers arrived), four queued behind maxConcurrentRequests.
        for rec in recs.prefix(2) { try rec.wait(forKind: .headersReceived) }
        try app.close()
        for (i, rec) in recs.enumerated() {
            XCTAssertEqual(rec.events.map(\.kind), i < 2 ? [.headersReceived, .fail] : [.fail])
            XCTAssertEqual(rec.events.last?.errMsg, "request:fail abort")
        }
        XCTAssertEqual(TaskBox.live, before, "every context released by the time close returns")
        try app.close() // idempotent
        XCTAssertThrowsError(try app.startRequest(#"{"url":"\#(api("/json"))"}"#)) { error in
            XCTAssertEqual(error as? WxnetError, .closed("the app is closed"))
        }
    }

    func testDeinitFreesTheAppAndAbortsItsTasks() throws {
        let before = TaskBox.live
        let rec = Recorder()
        do {
            let app = try App(config: testConfig())
            for _ in 0..<3 { try app.startRequest(#"{"url":"\#(api("/delay-body/60000"))"}"#, onEvent: rec.handler) }
            try rec.wait(forKind: .headersReceived, count: 3)
        } // deinit: wxnet_app_free
        let fails = rec.events.filter { $0.kind == .fail }
        XCTAssertEqual(fails.count, 3)
        XCTAssertTrue(fails.allSatisfy { $0.errMsg == "request:fail abort" })
        XCTAssertEqual(TaskBox.live, before)
    }

    func testCloseFromOwnHandlerIsRefusedAndHandlersMayStartTasks() throws {
        let app = try App(config: testConfig())
        let result = Recorder()
        let status = LockedBox<WxnetError?>(nil)
        try app.startRequest(#"{"url":"\#(api("/json"))"}"#) { ev in
            guard ev.kind == .success else { return }
            do {
                try app.close()
            } catch let e as WxnetError {
                status.set(e)
            } catch {}
            // Starting a task from inside a handler works.
            _ = try? app.startRequest(#"{"url":"\#(api("/text"))"}"#, onEvent: result.handler)
        }
        try result.wait(forKind: .success)
        guard case .wouldDeadlock? = status.get() else { return XCTFail("\(String(describing: status.get()))") }
    }

    func testLogHandlerReceivesRecordsWithoutURLs() async throws {
        let logs = LockedBox<[String]>([])
        try WxNet.setLogger(maxLevel: WxNet.logInfo) { _, msg in logs.set(logs.get() + [msg]) }
        defer { try? WxNet.setLogger(nil) }
        do {
            let app = try App(config: testConfig())
            _ = try await app.request(#"{"url":"\#(api("/json"))"}"#)
        } // freed: "app freed" is logged
        try eventually(5, "log records") { logs.get().contains { $0.contains("app freed") } }
        XCTAssertFalse(logs.get().contains { $0.contains("/json") }, "no URLs in logs")
    }

    func testBackgroundInterruptsAfterGrace() async throws {
        let app = try App(config: testConfig(extra: #","backgroundGraceMs":100"#))
        let rec = Recorder()
        let task = Task { try await app.request(#"{"url":"\#(api("/delay-body/60000"))"}"#, onEvent: rec.handler) }
        try await rec.arrival(of: .headersReceived)
        try app.setBackground(true)
        do {
            _ = try await task.value
            XCTFail("expected interrupted")
        } catch let WxnetError.fail(_, errno) {
            XCTAssertEqual(errno, 600003)
        }
        try app.setBackground(false)
        let ok = try await app.request(#"{"url":"\#(api("/json"))"}"#)
        XCTAssertEqual(ok.statusCode, 200)
    }

    func testResetConnectionsMakesTheNextRequestConnectAnew() async throws {
        let app = try App(config: testConfig())
        let json = #"{"url":"\#(api("/json"))"}"#
        func reused() async throws -> Bool {
            try await app.request(json).decode(RequestSuccess.self).profile.socketReused
        }
        _ = try await app.request(json)
        let second = try await reused()
        XCTAssertTrue(second)
        try app.resetConnections()
        let afterReset = try await reused()
        XCTAssertFalse(afterReset)
        let next = try await reused()
        XCTAssertTrue(next)
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}
