// One request through the installed WxNet package against the project's test server
// ($WXNET_TESTSERVER): prints the typed result and exits 0, or says what failed and exits 1.
import Foundation
import WxNet

func fail(_ why: String) -> Never {
    FileHandle.standardError.write(Data("consumer: FAILED: \(why)\n".utf8))
    exit(1)
}

guard let server = ProcessInfo.processInfo.environment["WXNET_TESTSERVER"] else { fail("set WXNET_TESTSERVER") }
let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wxnet-consumer-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
let process = Process()
let stdin = Pipe(), stdout = Pipe()
process.executableURL = URL(fileURLWithPath: server)
process.arguments = ["--ca-file", dir.appendingPathComponent("ca.pem").path]
process.standardInput = stdin // the server stops when this closes (at exit at the latest)
process.standardOutput = stdout
try process.run()
var line = Data()
while true {
    let byte = stdout.fileHandleForReading.readData(ofLength: 1)
    if byte.isEmpty || byte == Data([0x0A]) { break }
    line.append(byte)
}
struct Ready: Decodable { let https: Int; let ca: String }
let ready = try JSONDecoder().decode(Ready.self, from: line)

let config: [String: Any] = [
    "appId": "wxconsumer",
    "domains": ["request": ["https://api.wxnet.test"]],
    "caCertificates": [try String(contentsOfFile: ready.ca, encoding: .utf8)],
    "resolve": ["api.wxnet.test:443": "127.0.0.1:\(ready.https)"],
    "tempDir": dir.appendingPathComponent("tmp").path,
    "userDataDir": dir.appendingPathComponent("usr").path,
]
let app = try App(config: String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self))

struct Hello: Decodable { let hello: String }
do {
    let ok = try await app.request(#"{"url":"https://api.wxnet.test/json"}"#).decode(RequestSuccess.self)
    let body = try ok.json(Hello.self)
    guard ok.statusCode == 200, body.hello == "world" else { fail("unexpected answer \(ok.statusCode) \(ok.text)") }
    print("consumer: WxNet \(WxNet.version): \(ok.errMsg) \(ok.statusCode) hello=\(body.hello) via \(ok.profile.protocol) to \(ok.profile.peerIP)")
} catch {
    fail("\(error)")
}
do {
    _ = try await app.request(#"{"url":"https://elsewhere.example.com/"}"#)
    fail("a domain outside the list was allowed")
} catch let WxnetError.fail(errMsg, errno) {
    print("consumer: refused as expected: \(errMsg) (errno \(errno))")
}
try app.close()
