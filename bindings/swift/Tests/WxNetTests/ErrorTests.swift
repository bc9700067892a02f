import CWxnet
import Foundation
import XCTest
@testable import WxNet

/// Every throwing API throws `WxnetError`; each case carries the library's exact message.
final class ErrorTests: XCTestCase {
    func testInvalidConfigNamesTheField() {
        XCTAssertThrowsError(try App(config: #"{"appId":"x","noSuchField":1}"#)) { error in
            guard case let .invalidConfig(message)? = error as? WxnetError else { return XCTFail("\(error)") }
            // Then the list of known fields, which grows with the library.
            XCTAssertTrue(message.hasPrefix("wxnet_app_new: noSuchField: unknown field `noSuchField`, expected one of `appId`, "), message)
            XCTAssertEqual((error as? WxnetError)?.status, WXNET_E_INVALID_CONFIG)
        }
    }

    /// A library of another C ABI version is never handed an app or a log handler.
    func testALibraryOfAnotherAbiVersionIsRefused() throws {
        XCTAssertEqual(WxNet.loadedAbiVersion, WxNet.abiVersion, "the test library matches the header")
        WxNet.loadedAbiVersion = WxNet.abiVersion + 1
        defer { WxNet.loadedAbiVersion = WxNet.abiVersion }
        let expected = WxnetError.invalidState(
            "the loaded libwxnet implements C ABI version \(WxNet.abiVersion + 1), this module was compiled against version \(WxNet.abiVersion): use the library and the Swift package of one release")
        XCTAssertThrowsError(try App(config: testConfig())) { XCTAssertEqual($0 as? WxnetError, expected) }
        XCTAssertThrowsError(try WxNet.setLogger { _, _ in }) { XCTAssertEqual($0 as? WxnetError, expected) }
    }

    func testMalformedOptionsAreInvalidArgument() throws {
        let app = try App(config: testConfig())
        XCTAssertThrowsError(try app.startRequest("{not json")) { error in
            guard case let .invalidArgument(message)? = error as? WxnetError else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "wxnet_request: options are not valid JSON: key must be a string at line 1 column 2")
        }
        XCTAssertThrowsError(try app.startDownloadFile("[1,2]")) { error in
            XCTAssertEqual(error as? WxnetError, .invalidArgument("wxnet_download_file: options must be a JSON object, not Array"))
            XCTAssertEqual((error as? WxnetError)?.description,
                           "invalid argument (\(WXNET_E_INVALID_ARGUMENT)): wxnet_download_file: options must be a JSON object, not Array")
        }
    }

    func testWxFailureIsFailWithErrMsgAndErrno() async throws {
        let app = try App(config: testConfig())
        do {
            _ = try await app.request(#"{"url":"https://not-listed.example.com/json"}"#)
            XCTFail("expected a wx fail")
        } catch let error as WxnetError {
            XCTAssertEqual(error, .fail(errMsg: "request:fail url not in domain list: not-listed.example.com is not listed for request", errno: 600002))
            XCTAssertEqual(error.errno, 600002)
            XCTAssertNil(error.status)
            XCTAssertEqual(error.description, "request:fail url not in domain list: not-listed.example.com is not listed for request (errno 600002)")
        }
    }

    func testClosedAppThrowsClosed() throws {
        let app = try App(config: testConfig())
        try app.close()
        for call in [{ _ = try app.startRequest(#"{"url":"\#(api("/json"))"}"#) }, { try app.setBackground(true) },
                     { _ = try app.resolvePath("wxfile://usr/a") }] {
            XCTAssertThrowsError(try call()) { error in
                XCTAssertEqual(error as? WxnetError, .closed("the app is closed"))
                XCTAssertEqual((error as? WxnetError)?.description, "closed (\(WXNET_E_CLOSED)): the app is closed")
            }
        }
    }

    func testSandboxEscapeIsInvalidArgument() throws {
        let app = try App(config: testConfig())
        XCTAssertThrowsError(try app.resolvePath("wxfile://usr/../secret")) { error in
            XCTAssertEqual(error as? WxnetError, .invalidArgument("wxnet_app_resolve_path: invalid file path: empty, '.' or '..' segment"))
        }
    }

    func testSendOnASocketThatIsNotOpenIsInvalidState() async throws {
        let app = try App(config: testConfig())
        // The test server never answers the upgrade on /hang: the socket stays connecting.
        let socket = try app.connectSocket(#"{"url":"wss://ws.wxnet.test/hang"}"#)
        var sendError: WxnetError?
        for try await event in socket.events where event.kind == .success {
            do { try socket.send("too early") } catch let e as WxnetError { sendError = e }
            socket.abort()
        }
        guard case let .invalidState(message)? = sendError else { return XCTFail("\(String(describing: sendError))") }
        XCTAssertEqual(message, "wxnet_socket_send: the socket is not open (Connecting)")
        // Once the socket has ended:
        XCTAssertThrowsError(try socket.send("late")) { error in
            XCTAssertEqual(error as? WxnetError, .invalidState("wxnet_socket_send: task \(socket.id) has ended"))
        }
        XCTAssertThrowsError(try Socket(task: WxTask(id: 1 << 60, api: .connectSocket), events: SocketEventBuffer(maxMessages: 1, maxBytes: 1).events).send("x")) { error in
            XCTAssertEqual(error as? WxnetError, .unknownTask("wxnet_socket_send: no task with id \(1 << 60)"))
        }
    }

    func testDecodingTheWrongShapeIsUnexpectedResult() async throws {
        let app = try App(config: testConfig())
        let ok = try await app.request(#"{"url":"\#(api("/json"))"}"#)
        XCTAssertThrowsError(try ok.decode(SocketClose.self)) { error in
            guard case let .unexpectedResult(message)? = error as? WxnetError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("SocketClose from success event: "), message)
        }
    }
}
