import Foundation
import XCTest
@testable import WxNet

/// uploadFile / downloadFile with progress; skipped while the library does not implement them.
final class TransferTests: XCTestCase {
    func assertProgress(_ events: [Event], file: StaticString = #filePath, line: UInt = #line) {
        let progress = events.filter { $0.kind == .progress }.map { ($0.res["progress"] as? NSNumber)?.intValue ?? -1 }
        XCTAssertFalse(progress.isEmpty, "progress events", file: file, line: line)
        XCTAssertEqual(progress, progress.sorted(), "progress never goes back", file: file, line: line)
        XCTAssertEqual(progress.last, 100, file: file, line: line)
    }

    func testUploadFileWithProgress() async throws {
        let sandbox = Sandbox()
        let app = try App(config: testConfig(sandbox))
        let content = Data((0..<(3 * 1024 * 1024)).map { UInt8(($0 * 7) % 256) })
        try content.write(to: sandbox.usr.appendingPathComponent("up.bin"))
        let rec = Recorder()
        let ok = try await startOrSkip("uploadFile") {
            try await app.uploadFile(#"{"url":"https://up.wxnet.test/upload","filePath":"wxfile://usr/up.bin","name":"file","formData":{"purpose":"swift"}}"#, onEvent: rec.handler)
        }
        XCTAssertEqual(ok.errMsg, "uploadFile:ok")
        XCTAssertEqual(ok.statusCode, 200)
        let answerText = (ok.res["data"] as? String) ?? ok.text
        let answer = try JSONSerialization.jsonObject(with: Data(answerText.utf8)) as? [String: Any]
        XCTAssertEqual(answer?["fields"] as? [String: String], ["purpose": "swift"])
        let file = (answer?["files"] as? [[String: Any]])?.first
        XCTAssertEqual(file?["size"] as? Int, content.count)
        assertProgress(rec.events)
        let last = rec.events.last { $0.kind == .progress }?.res
        XCTAssertEqual(last?["totalBytesSent"] as? Int, last?["totalBytesExpectedToSend"] as? Int)
    }

    func testDownloadFileWithProgress() async throws {
        let sandbox = Sandbox()
        let app = try App(config: testConfig(sandbox))
        let n = 2 * 1024 * 1024
        let rec = Recorder()
        let ok = try await startOrSkip("downloadFile") {
            try await app.downloadFile(#"{"url":"https://cdn.wxnet.test/bytes/\#(n)"}"#, onEvent: rec.handler)
        }
        XCTAssertEqual(ok.errMsg, "downloadFile:ok")
        let virtual = try XCTUnwrap(ok.res["tempFilePath"] as? String)
        XCTAssertTrue(virtual.hasPrefix("wxfile://tmp_"), virtual)
        let real = try app.resolvePath(virtual)
        XCTAssertEqual(URL(fileURLWithPath: real).resolvingSymlinksInPath().path,
                       sandbox.temp.appendingPathComponent(String(virtual.dropFirst("wxfile://".count))).resolvingSymlinksInPath().path)
        XCTAssertEqual(try app.virtualPath(real), virtual)
        XCTAssertThrowsError(try app.resolvePath("wxfile://usr/../secret")) { error in
            guard case .invalidArgument? = error as? WxnetError else { return XCTFail("\(error)") }
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: real))
        XCTAssertEqual(bytes.count, n)
        XCTAssertTrue(bytes.enumerated().allSatisfy { $0.element == UInt8($0.offset % 251) }, "the /bytes pattern")
        assertProgress(rec.events)
    }

    func testDownloadCancellationLeavesNoFile() async throws {
        let sandbox = Sandbox()
        let app = try App(config: testConfig(sandbox))
        // Probe: skip when downloads are not implemented.
        _ = try await startOrSkip("downloadFile") { try app.startDownloadFile(#"{"url":"https://cdn.wxnet.test/bytes/10"}"#) }
        let rec = Recorder()
        let task = Task {
            try await app.downloadFile(#"{"url":"https://cdn.wxnet.test/bytes/\#(16 * 1024 * 1024)?rate_kbps=256","filePath":"wxfile://usr/big.bin"}"#,
                                       onEvent: rec.handler)
        }
        try await rec.arrival(of: .progress) // bytes are being written
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected cancellation")
        } catch is CancellationError {
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.usr.appendingPathComponent("big.bin").path))
    }
}
