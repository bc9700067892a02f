import CWxnet
import Foundation
import XCTest
@testable import WxNet

/// connectSocket echo through `Socket.events`; skipped while the library does not implement sockets.
final class SocketTests: XCTestCase {
    /// The test server's WSS echo route (`$WXNET_WS_PATH`).
    let wsPath = ProcessInfo.processInfo.environment["WXNET_WS_PATH"] ?? "/ws/echo"

    func testSocketEchoAsEventStream() async throws {
        let before = TaskBox.live
        let app = try App(config: testConfig())
        let socket = try await startOrSkip("connectSocket") { try app.connectSocket(#"{"url":"wss://ws.wxnet.test\#(wsPath)"}"#) }
        var events: [Event] = []
        for try await ev in socket.events {
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
        let listener = Recorder() // sees every event, also after the consumer is gone
        let socket = try await startOrSkip("connectSocket") {
            try app.connectSocket(#"{"url":"wss://ws.wxnet.test\#(wsPath)"}"#, onEvent: listener.handler)
        }
        let seen = Recorder()
        let consumer = Task {
            for try await ev in socket.events { seen.handler(ev) }
        }
        try await seen.arrival(of: .socketOpen)
        consumer.cancel() // Task cancellation of the consumer aborts the socket
        try await consumer.value
        try await listener.arrival(of: .socketClose)
        XCTAssertThrowsError(try socket.send("x"), "the socket no longer accepts sends")
    }

    // MARK: the bounded stream

    /// What a consumer that took nothing until the native task had ended gets from
    /// `/ws/push?n=200&size=65536` (200 binary messages of 64 KiB of 0x5a) with these limits.
    struct Drained {
        var events: [Event] = []
        var error: Error?
        var listened: [Event] = []
        var messages: [Event] { events.filter { $0.kind == .socketMessage } }
    }

    func pushUnconsumed(maxBufferedMessages: Int = 4096, maxBufferedBytes: Int = 16 << 20) async throws -> Drained {
        let app = try App(config: testConfig())
        let seen = Recorder()
        let socket = try await startOrSkip("connectSocket") {
            try app.connectSocket(
                #"{"url":"wss://ws.wxnet.test/ws/push?n=200&size=65536"}"#,
                maxBufferedMessages: maxBufferedMessages, maxBufferedBytes: maxBufferedBytes, onEvent: seen.handler)
        }
        // Not a single event taken from the stream until the task has ended.
        try await seen.arrival(of: .socketClose, timeout: 60)
        var drained = Drained()
        do {
            for try await ev in socket.events { drained.events.append(ev) }
        } catch {
            drained.error = error
        }
        drained.listened = seen.events
        return drained
    }

    func assertOverflowed(_ drained: Drained, messages: Int, bytes: Int, maxMessages: Int, maxBytes: Int,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(drained.messages.count, messages, "messages buffered before the overflow", file: file, line: line)
        for message in drained.messages {
            XCTAssertEqual(message.data, Data(repeating: 0x5a, count: 65536), file: file, line: line)
        }
        XCTAssertEqual(drained.events.filter { $0.kind != .socketMessage }.map(\.kind), [.success, .socketOpen],
                       "nothing after the overflow (no CLOSE) in the stream", file: file, line: line)
        let expected = WxnetError.streamOverflow(messages: messages, bytes: bytes, maxMessages: maxMessages, maxBytes: maxBytes)
        XCTAssertEqual(drained.error as? WxnetError, expected, file: file, line: line)
        XCTAssertEqual(
            (drained.error as? WxnetError)?.message,
            "socket event stream overflow: the consumer did not keep up (\(messages) messages / \(bytes) bytes buffered; limits \(maxMessages) messages / \(maxBytes) bytes)",
            file: file, line: line)
        // The overflow aborted the socket (the server never closes /ws/push itself); the
        // listener saw every event up to its one CLOSE 1000.
        let closes = drained.listened.filter { $0.kind == .socketClose }
        XCTAssertEqual(closes.count, 1, file: file, line: line)
        XCTAssertEqual((closes.first?.res["code"] as? NSNumber)?.intValue, 1000, file: file, line: line)
        XCTAssertGreaterThan(drained.listened.filter { $0.kind == .socketMessage }.count, messages, file: file, line: line)
    }

    func testStreamOverflowsAtMaxBufferedMessages() async throws {
        let drained = try await pushUnconsumed(maxBufferedMessages: 8)
        assertOverflowed(drained, messages: 8, bytes: 8 * 65536, maxMessages: 8, maxBytes: 16 << 20)
    }

    func testStreamOverflowsAtMaxBufferedBytes() async throws {
        // 65536 B buffered; a second message would make 131072 > 100000.
        assertOverflowed(try await pushUnconsumed(maxBufferedBytes: 100_000),
                         messages: 1, bytes: 65536, maxMessages: 4096, maxBytes: 100_000)
        // A message larger than the byte limit is admitted alone.
        assertOverflowed(try await pushUnconsumed(maxBufferedBytes: 1000),
                         messages: 1, bytes: 65536, maxMessages: 4096, maxBytes: 1000)
    }

    func testABadStreamLimitIsRejectedBeforeTheSocketStarts() throws {
        let before = TaskBox.live
        let app = try App(config: testConfig())
        let url = #"{"url":"wss://ws.wxnet.test/ws/echo"}"#
        XCTAssertThrowsError(try app.connectSocket(url, maxBufferedMessages: 0)) { error in
            XCTAssertEqual(error as? WxnetError, .invalidArgument("connectSocket: maxBufferedMessages must be at least 1, got 0"))
        }
        XCTAssertThrowsError(try app.connectSocket(url, maxBufferedBytes: 0)) { error in
            XCTAssertEqual(error as? WxnetError, .invalidArgument("connectSocket: maxBufferedBytes must be at least 1, got 0"))
        }
        XCTAssertThrowsError(try app.connectSocket(url, maxBufferedMessages: -1, maxBufferedBytes: -1)) { error in
            XCTAssertEqual((error as? WxnetError)?.status, WXNET_E_INVALID_ARGUMENT)
        }
        XCTAssertEqual(TaskBox.live, before, "no task was started")
    }

    func testFloodConsumedAsItComesFitsTheDefaultLimits() async throws {
        let app = try App(config: testConfig())
        let socket = try await startOrSkip("connectSocket") { try app.connectSocket(#"{"url":"wss://ws.wxnet.test/ws/flood?n=3000"}"#) }
        var texts: [String] = []
        var last: Event?
        for try await ev in socket.events {
            last = ev
            if ev.kind == .socketMessage {
                texts.append(ev.text)
                if texts.count == 3000 { try socket.close() }
            }
        }
        XCTAssertEqual(texts, (0..<3000).map { String($0) })
        XCTAssertEqual(last?.kind, .socketClose)
    }
}
