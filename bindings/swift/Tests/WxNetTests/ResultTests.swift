import Foundation
import XCTest
@testable import WxNet

/// Typed (Codable) results over real sockets, and `Event.res` parsed once.
final class ResultTests: XCTestCase {
    func testRequestSuccessDecodes() async throws {
        let app = try App(config: testConfig())
        let event = try await app.request(#"{"url":"\#(api("/json"))"}"#)
        let ok = try event.decode(RequestSuccess.self)
        XCTAssertEqual(ok.errMsg, "request:ok")
        XCTAssertEqual(ok.statusCode, 200)
        XCTAssertEqual(ok.dataKind, .json)
        XCTAssertTrue(ok.header["content-type"]?.contains("application/json") ?? false, "\(ok.header)")
        XCTAssertEqual(ok.cookies, [])
        XCTAssertEqual(ok.profile.peerIP, "127.0.0.1")
        XCTAssertEqual(ok.profile.port, TestServer.shared.httpsPort)
        XCTAssertTrue(["http1.1", "h2"].contains(ok.profile.protocol), ok.profile.protocol)
        XCTAssertGreaterThan(ok.profile.receivedBytesCount, 0)
        XCTAssertGreaterThanOrEqual(ok.profile.responseEnd, ok.profile.requestStart)

        struct Hello: Decodable { let hello: String; let n: Int }
        let body = try ok.json(Hello.self)
        XCTAssertEqual(body.hello, "world")
        XCTAssertEqual(body.n, 1)
        XCTAssertEqual(ok.data, event.data)
    }

    func testRequestCookiesAndJoinedHeaders() async throws {
        let app = try App(config: testConfig())
        let ok = try await app.request(#"{"url":"\#(api("/set-cookie"))"}"#).decode(RequestSuccess.self)
        XCTAssertEqual(ok.cookies, ["a=1; Path=/", "b=2; HttpOnly"])
        XCTAssertEqual(ok.header["x-multi"] ?? ok.header["X-Multi"], "one, two")
        XCTAssertEqual(ok.dataKind, .text)
    }

    func testHeadersEventDecodes() async throws {
        let app = try App(config: testConfig())
        let rec = Recorder()
        _ = try await app.request(#"{"url":"\#(api("/status/404"))"}"#, onEvent: rec.handler)
        let headers = try XCTUnwrap(rec.events.first { $0.kind == .headersReceived })
        let decoded = try headers.decode(HeadersReceived.self)
        XCTAssertEqual(decoded.statusCode, 404)
        XCTAssertEqual(decoded.header["content-type"], "text/plain; charset=utf-8")
    }

    func testDownloadAndUploadSuccessDecode() async throws {
        let sandbox = Sandbox()
        let app = try App(config: testConfig(sandbox))
        let temp = try await app.downloadFile(#"{"url":"https://cdn.wxnet.test/bytes/1000"}"#).decode(DownloadSuccess.self)
        XCTAssertEqual(temp.errMsg, "downloadFile:ok")
        XCTAssertEqual(temp.statusCode, 200)
        XCTAssertTrue(temp.tempFilePath?.hasPrefix("wxfile://tmp_") ?? false, "\(String(describing: temp.tempFilePath))")
        XCTAssertNil(temp.filePath)
        XCTAssertEqual(temp.path, temp.tempFilePath)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: app.resolvePath(temp.path))).count, 1000)

        let rec = Recorder()
        let saved = try await app.downloadFile(#"{"url":"https://cdn.wxnet.test/bytes/5000","filePath":"wxfile://usr/d.bin"}"#,
                                               onEvent: rec.handler).decode(DownloadSuccess.self)
        XCTAssertEqual(saved.filePath, "wxfile://usr/d.bin")
        XCTAssertNil(saved.tempFilePath)
        XCTAssertEqual(saved.profile.peerIP, "127.0.0.1")
        let progress = try rec.events.filter { $0.kind == .progress }.map { try $0.decode(TransferProgress.self) }
        XCTAssertEqual(progress.last?.progress, 100)
        XCTAssertEqual(progress.last?.totalBytesWritten, 5000)
        XCTAssertEqual(progress.last?.totalBytesExpectedToWrite, 5000)

        let up = try await app.uploadFile(#"{"url":"https://up.wxnet.test/upload","filePath":"wxfile://usr/d.bin","name":"file","formData":{"k":"v"}}"#)
            .decode(UploadSuccess.self)
        XCTAssertEqual(up.errMsg, "uploadFile:ok")
        XCTAssertEqual(up.statusCode, 200)
        struct Answer: Decodable {
            struct File: Decodable { let name: String; let size: Int }
            let fields: [String: String]
            let files: [File]
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(up.data.utf8))
        XCTAssertEqual(answer.fields, ["k": "v"])
        XCTAssertEqual(answer.files.first?.name, "file")
        XCTAssertEqual(answer.files.first?.size, 5000)
    }

    func testSocketOpenAndCloseDecode() async throws {
        let app = try App(config: testConfig())
        let socket = try app.connectSocket(#"{"url":"wss://ws.wxnet.test/ws/echo"}"#)
        var open: SocketOpen?
        var close: SocketClose?
        for try await event in socket.events {
            switch event.kind {
            case .socketOpen:
                open = try event.decode(SocketOpen.self)
                try socket.close(code: 4000, reason: "done")
            case .socketClose:
                close = try event.decode(SocketClose.self)
            default: break
            }
        }
        let opened = try XCTUnwrap(open)
        XCTAssertEqual(opened.header["upgrade"]?.lowercased(), "websocket", "\(opened.header)")
        XCTAssertNotNil(opened.header["sec-websocket-accept"])
        XCTAssertGreaterThanOrEqual(opened.profile.cost, opened.profile.handshakeCost)
        XCTAssertGreaterThanOrEqual(opened.profile.connectEnd, opened.profile.connectStart)
        XCTAssertEqual(close, SocketClose(code: 4000, reason: "done"))
    }

    func testFailDecodes() throws {
        let app = try App(config: testConfig())
        let ended = expectation(description: "the abort FAIL")
        let fail = LockedBox<Event?>(nil)
        let task = try app.startRequest(#"{"url":"\#(api("/hang"))"}"#) { event in
            if event.kind == .fail {
                fail.set(event)
                ended.fulfill()
            }
        }
        task.abort()
        wait(for: [ended], timeout: 10)
        let decoded = try XCTUnwrap(fail.get()).decode(Failure.self)
        XCTAssertEqual(decoded.errMsg, "request:fail abort")
        XCTAssertGreaterThan(decoded.errno, 0)
    }

    /// `res` is parsed on first use only, once, even from many threads at once, and copies
    /// of the event share that parse.
    func testResIsParsedOnce() async throws {
        let app = try App(config: testConfig())
        let event = try await app.request(#"{"url":"\#(api("/json"))"}"#)
        XCTAssertEqual(event.parsed.parses, 0, "nothing parsed the res before first use")
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            switch i % 3 {
            case 0: XCTAssertEqual(event.res["dataKind"] as? String, "json")
            case 1: XCTAssertEqual(event.statusCode, 200)
            default: XCTAssertEqual(event.errMsg, "request:ok")
            }
        }
        let copy = event
        XCTAssertEqual((copy.res["profile"] as? [String: Any])?["peerIP"] as? String, "127.0.0.1")
        XCTAssertEqual(event.parsed.parses, 1)
        XCTAssertTrue(copy.parsed === event.parsed)
        // Another event has its own parse.
        let other = try await app.request(#"{"url":"\#(api("/text"))"}"#)
        XCTAssertEqual(other.res["dataKind"] as? String, "text")
        XCTAssertEqual(other.parsed.parses, 1)
        XCTAssertEqual(event.parsed.parses, 1)
    }
}
