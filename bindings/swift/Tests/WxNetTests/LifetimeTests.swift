import CWxnet
import Foundation
import XCTest
@testable import WxNet

/// Lifetimes across the C boundary: close() twice and concurrently, close() from handlers
/// and stream consumers, close() racing starts, aborts and cancellations, an app whose last
/// reference goes away inside its own handler, and replacing the log handler.
final class LifetimeTests: XCTestCase {
    let hang = #"{"url":"\#(api("/hang"))"}"#
    let slow = #"{"url":"\#(api("/delay-body/60000"))"}"#

    /// A second close() while the first is still freeing the app (a handler of the aborted
    /// task holds it up) returns without an error, and only once the first one is done.
    func testCloseWhileAnotherThreadClosesWaitsForItAndDoesNotThrow() throws {
        let before = TaskBox.live
        let app = try App(config: testConfig())
        let gate = Gate()
        let handlerDone = Flag()
        try app.startRequest(hang) { ev in
            guard ev.kind == .fail else { return }
            gate.enterAndWait()
            handlerDone.set()
        }
        let first = Outcome()
        Thread.detachNewThread { first.run { try app.close() } }
        try gate.waitEntered()
        // The first close() is inside wxnet_app_free now, waiting for the handler.
        let second = Outcome()
        let handlerDoneWhenSecondReturned = Flag()
        Thread.detachNewThread {
            second.run {
                defer { if handlerDone.isSet { handlerDoneWhenSecondReturned.set() } }
                try app.close()
            }
        }
        // Until the second close() either returned or waits for the first one.
        try eventually(20, "the second close() to return or wait") { second.isDone || app.closeWaiters > 0 }
        gate.open()
        try first.wait()
        try second.wait()
        XCTAssertNil(first.error)
        XCTAssertNil(second.error, "a close() racing another close() threw")
        XCTAssertTrue(handlerDoneWhenSecondReturned.isSet, "the second close() returned before the terminal events were delivered")
        XCTAssertEqual(TaskBox.live, before)
        try app.close()
    }

    /// Inside another app's handler, close() does not wait for a close() running on another
    /// thread (a wait the library cannot see could close a cycle): it throws `wouldDeadlock`.
    func testCloseInsideAnotherAppsHandlerDoesNotWaitForAnotherThreadsClose() throws {
        let a = try App(config: testConfig())
        let b = try App(config: testConfig())
        let gate = Gate()
        try a.startRequest(hang) { ev in
            if ev.kind == .fail { gate.enterAndWait() }
        }
        let first = Outcome()
        Thread.detachNewThread { first.run { try a.close() } }
        try gate.waitEntered()
        let fromB = Outcome()
        try b.startRequest(#"{"url":"\#(api("/json"))"}"#) { ev in
            if ev.kind == .success { fromB.run { try a.close() } }
        }
        try fromB.wait()
        gate.open()
        try first.wait()
        XCTAssertNil(first.error)
        guard case .wouldDeadlock? = fromB.error as? WxnetError else {
            return XCTFail("expected wouldDeadlock, got \(String(describing: fromB.error))")
        }
        try a.close()
        try b.close()
    }

    /// close() inside one of the app's own handlers throws `wouldDeadlock` and leaves the app
    /// open: calls on other threads meanwhile never get `closed`.
    func testCloseInsideOwnHandlerDoesNotCloseTheAppForOtherThreads() throws {
        let app = try App(config: testConfig())
        let stop = Flag()
        let calls = Counter()
        let spurious = Counter()
        let worker = Outcome()
        Thread.detachNewThread {
            worker.run {
                while !stop.isSet {
                    do {
                        _ = try app.resolvePath("wxfile://usr/a.txt")
                        calls.add()
                    } catch WxnetError.closed {
                        spurious.add()
                    }
                }
            }
        }
        try eventually(20, "the worker's first call") { calls.value > 0 }
        let refusals = Counter()
        let rec = Recorder()
        try app.startRequest(#"{"url":"\#(api("/json"))"}"#) { ev in
            if ev.kind == .success {
                for _ in 0..<2000 {
                    do { try app.close() } catch WxnetError.wouldDeadlock { refusals.add() } catch {}
                }
            }
            rec.handler(ev)
        }
        try rec.wait(forKind: .success)
        stop.set()
        try worker.wait()
        XCTAssertNil(worker.error)
        XCTAssertEqual(refusals.value, 2000)
        XCTAssertEqual(spurious.value, 0, "calls on another thread got `closed` while the app stayed open")
        try app.close()
    }

    /// close() from a socket's event consumer (a Swift Task) while requests are awaited:
    /// every awaiting Task resumes once, with the abort, and the stream ends with its CLOSE.
    func testCloseFromAnEventStreamConsumerEndsEverythingOnce() async throws {
        let before = TaskBox.live
        let app = try App(config: testConfig())
        let socket = try await startOrSkip("connectSocket") { try app.connectSocket(#"{"url":"wss://ws.wxnet.test/ws/echo"}"#) }
        let rec = Recorder()
        let requests = (0..<4).map { _ in Task { [slow] in try await app.request(slow, onEvent: rec.handler) } }
        try await rec.arrival(of: .headersReceived, count: 4)
        let kinds = try await bounded(20, "the socket's stream to end") {
            var kinds: [EventKind?] = []
            for try await ev in socket.events {
                kinds.append(ev.kind)
                if ev.kind == .socketOpen { try app.close() }
            }
            return kinds
        }
        XCTAssertEqual(kinds, [.success, .socketOpen, .socketClose])
        for request in requests {
            let outcome = try await bounded(20, "an awaited request to end") { await request.result }
            guard case let .failure(WxnetError.fail(errMsg, _)) = outcome else {
                XCTFail("expected request:fail abort, got \(outcome)")
                continue
            }
            XCTAssertEqual(errMsg, "request:fail abort")
        }
        XCTAssertEqual(TaskBox.live, before)
    }

    /// close() racing starts, aborts and Task cancellations on other threads and Tasks: every
    /// awaiting Task ends exactly once (success, wx failure, CancellationError or `closed`) and
    /// every context is released.
    func testCloseRacingStartsAbortsAndCancellations() async throws {
        let before = TaskBox.live
        for round in 0..<5 {
            let app = try App(config: testConfig())
            let started = Counter()
            let closeCalled = Flag()
            let results = try await bounded(30, "round \(round)") { [slow] in
                try await withThrowingTaskGroup(of: String.self) { group in
                    for i in 0..<60 {
                        group.addTask {
                            // These race the close.
                            if i >= 45 {
                                try await waitUntil { closeCalled.isSet }
                            } else if i >= 30 {
                                try await waitUntil { started.value >= 30 }
                            }
                            let work = Task {
                                started.add()
                                return try await app.request(i % 3 == 0 ? #"{"url":"\#(api("/json"))"}"# : slow)
                            }
                            if i % 4 == 1 { work.cancel() }
                            if i % 5 == 2, let t = try? app.startRequest(slow) { t.abort() }
                            do {
                                _ = try await work.value
                                return "ok"
                            } catch is CancellationError {
                                return "cancelled"
                            } catch let e as WxnetError {
                                switch e {
                                case .fail: return "fail"
                                case .closed: return "closed"
                                default: return "other \(e)"
                                }
                            }
                        }
                    }
                    group.addTask {
                        try await waitUntil { started.value >= 30 }
                        try await onThread {
                            closeCalled.set()
                            try app.close()
                        }
                        return "close"
                    }
                    var all: [String] = []
                    for try await r in group { all.append(r) }
                    return all
                }
            }
            XCTAssertEqual(results.count, 61)
            if round == 0 { print("[LifetimeTests] close racing 60 requests: \(Dictionary(grouping: results, by: { $0 }).mapValues(\.count))") }
            XCTAssertFalse(results.contains { $0.hasPrefix("other") }, "\(results)")
            try eventually(20, "contexts released") { TaskBox.live == before }
        }
    }

    /// The last reference to an app goes away inside its own handler (a task's handler held
    /// it): deinit cannot free it there, so another thread does, and the app's other tasks
    /// still get their terminal events.
    func testLastReferenceDroppedInOwnHandlerFreesTheAppElsewhere() throws {
        let before = TaskBox.live
        let rec = Recorder()
        let freed = Flag()
        do {
            let app = try App(config: testConfig())
            for _ in 0..<2 { try app.startRequest(slow, onEvent: rec.handler) }
            try rec.wait(forKind: .headersReceived, count: 2)
            let watcher = DeinitWatcher(freed)
            try app.startRequest(#"{"url":"\#(api("/json"))"}"#) { [app, watcher] _ in _ = (app, watcher) }
        }
        try rec.wait(forKind: .fail, count: 2)
        XCTAssertTrue(rec.events.filter { $0.kind == .fail }.allSatisfy { $0.errMsg == "request:fail abort" })
        try eventually(20, "contexts released") { TaskBox.live == before && freed.isSet }
    }

    // MARK: the log handler

    /// A handler that replaces itself while another thread is replacing it (and so waits,
    /// inside wxnet_set_log_callback, for that very call of the handler to return). Run in a
    /// child process: a deadlock there cannot be undone in this one.
    func testLogHandlerReplacingItselfWhileAnotherThreadReplacesItDoesNotDeadlock() throws {
        #if os(Linux)
        if ProcessInfo.processInfo.environment[childEnv] == "log-replace" {
            return try logReplaceChild()
        }
        try runChild(test: "LifetimeTests/testLogHandlerReplacingItselfWhileAnotherThreadReplacesItDoesNotDeadlock", mode: "log-replace")
        #else
        throw XCTSkip("runs its child process and reads thread states through /proc: Linux only")
        #endif
    }

    private func logReplaceChild() throws {
        let entered = Flag()
        let setterTid = LockedBox<String?>(nil)
        let innerReturned = Flag()
        let setterSleptInside = Flag()
        try WxNet.setLogger(maxLevel: WxNet.logInfo) { _, _ in
            guard !entered.isSet else { return }
            entered.set()
            // Wait (bounded) until the other thread is blocked inside its setLogger.
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let tid = setterTid.get(), threadIsSleeping(tid) {
                    setterSleptInside.set()
                    break
                }
                usleep(1000)
            }
            _ = try? WxNet.setLogger(nil)
            innerReturned.set()
        }
        let setter = Outcome()
        Thread.detachNewThread {
            setter.run {
                try eventually(20, "the first log record") { entered.isSet }
                setterTid.set(currentThreadID())
                try WxNet.setLogger(maxLevel: WxNet.logInfo) { _, _ in }
            }
        }
        _ = try App(config: #"{"appId":"wxlogchild"}"#) // "app freed" is logged
        try setter.wait(20)
        XCTAssertNil(setter.error)
        try eventually(20, "the handler's own setLogger to return") { innerReturned.isSet }
        XCTAssertTrue(setterSleptInside.isSet, "the other thread was not seen blocked in setLogger")
        // The later request (nil, from inside) won; a new handler gets records again.
        let records = Recorder()
        try WxNet.setLogger(maxLevel: WxNet.logInfo) { _, msg in
            records.handler(Event(task: 0, rawKind: 0, json: "{}", data: Data(msg.utf8)))
        }
        _ = try App(config: #"{"appId":"wxlogchild"}"#)
        try records.wait(for: "a log record") { $0.contains { $0.text.contains("app freed") } }
        try WxNet.setLogger(nil)
    }

    /// Replaced handlers are released at once (they do not pile up), and nil releases the last.
    func testReplacedLogHandlersAreReleased() throws {
        let flags = (0..<3).map { _ in Flag() }
        for flag in flags {
            let watcher = DeinitWatcher(flag)
            try WxNet.setLogger { _, _ in _ = watcher }
        }
        XCTAssertTrue(flags[0].isSet && flags[1].isSet)
        XCTAssertFalse(flags[2].isSet)
        try WxNet.setLogger(nil)
        XCTAssertTrue(flags[2].isSet)
        XCTAssertEqual(LogBox.live, 0, "no handler box left")
    }

    /// A handler that removes itself from inside (no other thread replacing it).
    func testLogHandlerRemovingItselfFromInside() throws {
        let calls = Counter()
        let removed = Flag()
        try WxNet.setLogger(maxLevel: WxNet.logInfo) { _, _ in
            calls.add()
            if (try? WxNet.setLogger(nil)) != nil { removed.set() }
        }
        defer { try? WxNet.setLogger(nil) }
        _ = try App(config: testConfig()) // "app freed" is logged
        try eventually(10, "the handler to remove itself") { removed.isSet }
        let n = calls.value
        _ = try App(config: testConfig())
        XCTAssertEqual(calls.value, n, "a removed handler is not called any more")
    }
}

// MARK: helpers

/// A one-way flag.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    func add() { lock.lock(); n += 1; lock.unlock() }
}

/// Sets its flag when deinitialized.
final class DeinitWatcher: @unchecked Sendable {
    let flag: Flag
    init(_ flag: Flag) { self.flag = flag }
    deinit { flag.set() }
}

/// A handler that enters it blocks until the test opens it (bounded).
final class Gate: @unchecked Sendable {
    private let cond = NSCondition()
    private var entered = false
    private var opened = false

    func enterAndWait(_ timeout: Double = 20) {
        cond.lock()
        entered = true
        cond.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while !opened && cond.wait(until: deadline) {}
        cond.unlock()
    }

    func waitEntered(_ timeout: Double = 20) throws {
        cond.lock()
        defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while !entered {
            if !cond.wait(until: deadline) && !entered { throw TestError("timed out waiting for the gate to be entered") }
        }
    }

    func open() {
        cond.lock()
        opened = true
        cond.broadcast()
        cond.unlock()
    }
}

/// The outcome of a call on another thread.
final class Outcome: @unchecked Sendable {
    private let cond = NSCondition()
    private var done = false
    private var thrown: Error?

    func run(_ body: () throws -> Void) {
        var error: Error?
        do { try body() } catch let e { error = e }
        cond.lock()
        thrown = error
        done = true
        cond.broadcast()
        cond.unlock()
    }

    var isDone: Bool { cond.lock(); defer { cond.unlock() }; return done }
    var error: Error? { cond.lock(); defer { cond.unlock() }; return thrown }

    func wait(_ timeout: Double = 20) throws {
        cond.lock()
        defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while !done {
            if !cond.wait(until: deadline) && !done { throw TestError("timed out waiting for the call to return") }
        }
    }
}

/// Runs a blocking call on its own thread (not one of Swift concurrency's few threads).
func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, Error>) in
        Thread.detachNewThread {
            do {
                try body()
                cont.resume()
            } catch {
                cont.resume(throwing: error)
            }
        }
    }
}

/// Polls `cond` from a Task until true, for at most `timeout` seconds.
func waitUntil(_ timeout: Double = 20, _ cond: @Sendable () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !cond() {
        if Date() > deadline { throw TestError("timed out waiting for a condition") }
        try await Task.sleep(nanoseconds: 2_000_000)
    }
}

/// Runs `body` in its own Task and returns its result, or throws a TestError after `timeout`
/// seconds (cancelling the body, which is left behind if it does not end).
func bounded<T: Sendable>(_ timeout: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
        once.set(cont)
        let work = Task {
            do { once.resume(.success(try await body())) } catch { once.resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
            once.resume(.failure(TestError("timed out after \(timeout) s: \(what)")))
            work.cancel()
        }
    }
}

/// Resumes a continuation with the first result only.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<T, Error>?
    func set(_ c: CheckedContinuation<T, Error>) { lock.lock(); cont = c; lock.unlock() }
    func resume(_ result: Result<T, Error>) {
        lock.lock()
        let c = cont
        cont = nil
        lock.unlock()
        c?.resume(with: result)
    }
}

// MARK: child processes

/// The environment variable that makes a test run its child part.
let childEnv = "WXNET_SWIFT_LIFETIME_CHILD"

/// Runs one test of this test binary in a child process with `childEnv` = `mode`; fails if
/// it does not exit 0 within `timeout` seconds (then it is killed), or did not run the test.
func runChild(test: String, mode: String, timeout: Double = 90, file: StaticString = #filePath, line: UInt = #line) throws {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("wxnet-swift-child-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let handle = try FileHandle(forWritingTo: out)
    defer { try? handle.close() }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: exe)
    child.arguments = ["WxNetTests.\(test)"]
    var env = ProcessInfo.processInfo.environment
    env[childEnv] = mode
    child.environment = env
    child.standardOutput = handle
    child.standardError = handle
    let exited = Flag()
    let cond = NSCondition()
    child.terminationHandler = { _ in
        cond.lock()
        exited.set()
        cond.broadcast()
        cond.unlock()
    }
    try child.run()
    let deadline = Date().addingTimeInterval(timeout)
    cond.lock()
    while !exited.isSet && cond.wait(until: deadline) {}
    cond.unlock()
    let output = { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
    guard exited.isSet else {
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTFail("the child hung for \(timeout) s (deadlock?); its output:\n\(output())", file: file, line: line)
        return
    }
    let text = output()
    XCTAssertEqual(child.terminationReason, .exit, "the child was killed by signal \(child.terminationStatus):\n\(text)", file: file, line: line)
    XCTAssertEqual(child.terminationStatus, 0, "the child failed:\n\(text)", file: file, line: line)
    XCTAssertTrue(text.contains("Executed 1 test"), "the child did not run \(test):\n\(text)", file: file, line: line)
}

/// The kernel's id of the calling thread (from /proc/thread-self).
func currentThreadID() -> String? {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")).map { URL(fileURLWithPath: $0).lastPathComponent }
}

/// Whether thread `tid` of this process is asleep (state S: blocked on a lock, a condition...).
func threadIsSleeping(_ tid: String) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
          let paren = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(after: paren)...].drop(while: { $0 == " " }).first == "S"
}
