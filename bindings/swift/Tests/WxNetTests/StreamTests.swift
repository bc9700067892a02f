import Foundation
import XCTest
@testable import WxNet

/// 10,000+ events in order, with flat native memory.
final class StreamTests: XCTestCase {
    final class Check: @unchecked Sendable {
        let lock = NSLock()
        var chunks = 0
        var bytes = 0
        var ordered = true
        var kinds: [Int32] = []
        static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

        func add(_ ev: Event) {
            lock.lock()
            defer { lock.unlock() }
            if kinds.last != ev.rawKind || ev.kind != .chunkReceived { kinds.append(ev.rawKind) }
            guard ev.kind == .chunkReceived, let d = ev.data else { return }
            chunks += 1
            for (i, b) in d.enumerated() where b != Check.alphabet[(bytes + i) % Check.alphabet.count] { ordered = false }
            bytes += d.count
        }
    }

    func stream(_ app: App, n: Int, size: Int) async throws -> Int {
        let check = Check()
        let ok = try await app.request(#"{"url":"\#(api("/chunked?n=\(n)&size=\(size)&interval_ms=0"))","enableChunked":true}"#, onEvent: { check.add($0) })
        XCTAssertEqual(ok.statusCode, 200)
        XCTAssertEqual(check.kinds, [EventKind.headersReceived.rawValue, EventKind.chunkReceived.rawValue, EventKind.success.rawValue])
        XCTAssertEqual(check.bytes, n * size)
        XCTAssertTrue(check.ordered, "chunks in order")
        return check.chunks
    }

    func testTenThousandChunkEventsInOrderWithFlatMemory() async throws {
        let app = try App(config: testConfig())
        let n = 10_000
        _ = try await stream(app, n: n, size: 1024) // warm-up
        let rss0 = rssBytes()
        var events = 0
        for _ in 0..<3 { events += try await stream(app, n: n, size: 1024) }
        let rss1 = rssBytes()
        print("[StreamTests] \(events / 3) chunk events per stream; RSS \(rss0 / 1024) -> \(rss1 / 1024) KiB")
        XCTAssertGreaterThanOrEqual(events / 3, n)
        if rss0 > 0 { XCTAssertLessThan(rss1 - rss0, 64 * 1024 * 1024, "RSS grew by \((rss1 - rss0) / 1024) KiB") }
    }
}
