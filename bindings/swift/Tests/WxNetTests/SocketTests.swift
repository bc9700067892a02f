import Foundation
import XCTest
@testable import WxNet

/// connectSocket echo through AsyncStream; skipped while the library does not implement sockets.
final class SocketTests: XCTestCase {
    /// The test server's WSS echo route (`$WXNET_WS_PATH`).
    let wsPath = ProcessInfo.processInfo.environment["WXNET_WS_PATH"] ?? "/ws/echo"

    func testSocketEchoAsAsyncStream() async throws {
        let before = TaskBox.live
        let app = try App(config: testConfig())
        let socket = try await startOrSkip("connectSocket") { try app.connectSocket(#"{"url":"wss://ws.wxnet.test\#(wsPath)"}"#) }
        var events: [Event] = []
        for await ev in socket.events {
            events.append(ev)
            switch ev.kind {
            case .socketOpen:
                try socket.send("hello wxnet")
                try socket.send(Data([0, 1, 2, 255]))
            case .socketMessage where events.filter({ $0.kind == .socketMessage }).count == 2:
                try socket.close(code: 1000, reason: "bye")
            default: break
            }
        }
        XCTAssertEqual(events.first?.kind, .success)
        XCTAssertEqual(events.first?.errMsg, "connectSocket:ok")
        XCTAssertEqual(events.dropFirst().first?.kind, .socketOpen)
        let messages = events.filter { $0.kind == .socketMessage }
        XCTAssertEqual(messages.count, 2)
        XCTAssertEqual(messages.first?.res["dataKind"] as? String, "text")
        XCTAssertEqual(messages.first?.text, "hello wxnet")
        XCTAssertEqual(messages.last?.res["dataKind"] as? String, "arraybuffer")
        XCTAssertEqual(messages.last?.data, Data([0, 1, 2, 255]))
        XCTAssertEqual(events.last?.kind, .socketClose)
        XCTAssertEqual((events.last?.res["code"] as? NSNumber)?.intValue, 1000)
        XCTAssertEqual(events.filter { $0.kind == .socketClose }.count, 1)
        XCTAssertEqual(TaskBox.live, before, "the socket's context is released on CLOSE")
    }

    func testCancellingTheConsumerClosesTheSocket() async throws {
        let app = try App(config: testConfig())
        let socket = try await startOrSkip("connectSocket") { try app.connectSocket(#"{"url":"wss://ws.wxnet.test\#(wsPath)"}"#) }
        let seen = Recorder()
        let consumer = Task {
            for await ev in socket.events { seen.handler(ev) }
        }
        try await seen.arrival(of: .socketOpen)
        consumer.cancel() // Task cancellation of the consumer aborts the socket
        await consumer.value
        var refused = false
        for _ in 0..<200 {
            if (try? socket.send("x")) == nil {
                refused = true
                break
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertTrue(refused, "the socket no longer accepts sends")
    }
}
