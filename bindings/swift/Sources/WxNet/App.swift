import CWxnet
import Foundation

/// The four wx network APIs.
public enum Api: String, Sendable {
    case request, uploadFile, downloadFile, connectSocket
}

/// The C event callback shared by every app. The task's user data is an `Unmanaged`
/// `TaskBox` retained when the task started; it is released here exactly once, on the
/// task's terminal event (after which the library never touches it again).
/// The box is released BEFORE the terminal event reaches the stream or the awaiting
/// continuation, so whoever they wake already sees it gone (`TaskBox.live`).
/// The app's user data is not a pointer but the app's token (`App.token`): nothing to keep
/// alive. While the event is handled, the thread is marked as dispatching that app.
private let eventCallback: wxnet_event_callback = { appToken, ev in
    guard let ev, let ud = ev.pointee.task_user_data else { return }
    let previous = pthread_getspecific(dispatchingKey)
    pthread_setspecific(dispatchingKey, appToken)
    defer { pthread_setspecific(dispatchingKey, previous) }
    let unmanaged = Unmanaged<TaskBox>.fromOpaque(ud)
    if let ending = deliver(Event(copying: ev), to: unmanaged) {
        unmanaged.release()
        ending.complete()
    }
}

/// The token (as a pointer-sized value) of the app whose events the current thread is
/// handling, or nil when it is in no handler.
private let dispatchingKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
}()

/// Tokens of apps (never 0, never reused).
private let tokenLock = NSLock()
nonisolated(unsafe) private var lastToken: UInt = 0
private func nextToken() -> UInt {
    tokenLock.lock()
    defer { tokenLock.unlock() }
    lastToken += 1
    return lastToken
}

/// Hands `event` to the box; no strong reference to the box outlives this call.
private func deliver(_ event: Event, to unmanaged: Unmanaged<TaskBox>) -> TaskBox.Ending? {
    unmanaged.takeUnretainedValue().deliver(event)
}

/// One mini-program instance: its config (domain lists, timeouts, sandbox dirs, limits), its
/// tasks and its event delivery. Events of its tasks arrive on one library thread (the app's
/// dispatcher), one at a time and in order; handlers may call any method from there except
/// `close()`.
///
/// Freed on deinit (or earlier with `close()`): every task is aborted and gets its terminal
/// event first.
public final class App: @unchecked Sendable {
    private let raw: OpaquePointer
    /// This app's `app_user_data`: a number, not a pointer (see `eventCallback`).
    private let token: UInt
    private let state = NSCondition()
    private var inFlight = 0
    /// A `close()` is freeing the app (`wxnet_app_free` running or about to run).
    private var closing = false
    private var closed = false
    /// Threads in `close()` waiting for another thread's `close()`.
    private var waitingClosers = 0

    /// Creates an app from its config JSON (`appId` required).
    /// Throws `WxnetError.invalidConfig` naming the offending field, and `invalidState` when
    /// the loaded library implements another C ABI version than this module's header.
    public init(config: String) throws {
        try WxNet.requireMatchingAbi()
        var out: OpaquePointer?
        let token = nextToken()
        let status = config.utf8CString.withUnsafeBufferPointer { buf in
            wxnet_app_new(buf.baseAddress, buf.count - 1, eventCallback, UnsafeMutableRawPointer(bitPattern: token), &out)
        }
        try check(status)
        guard let out else { throw WxnetError.panic("wxnet_app_new returned no app") }
        raw = out
        self.token = token
    }

    deinit {
        let raw = self.raw
        state.lock()
        let done = closed
        state.unlock()
        if done { return }
        if wxnet_app_free(raw) == WXNET_E_WOULD_DEADLOCK {
            // The last reference went away inside one of this app's own handlers: free it
            // from another thread once that handler has returned.
            let pending = PendingFree(raw: raw)
            Thread.detachNewThread { pending.free() }
        }
    }

    /// Frees the app now: aborts every task and returns once their terminal events were
    /// delivered and no handler of this app runs any more. Idempotent: a call while another
    /// thread's `close()` is freeing the app waits for that one and returns with it.
    /// From inside one of this app's handlers it throws `wouldDeadlock` and nothing happens
    /// (the app stays open for everyone); likewise from inside any app's handler while
    /// another thread is closing this app (waiting there could deadlock).
    public func close() throws {
        let dispatching = pthread_getspecific(dispatchingKey)
        if dispatching == UnsafeMutableRawPointer(bitPattern: token) {
            // What wxnet_app_free would say, without marking the app closing meanwhile.
            throw WxnetError.wouldDeadlock("close() was called from inside one of this app's own handlers")
        }
        state.lock()
        while closing && !closed {
            if dispatching != nil {
                state.unlock()
                throw WxnetError.wouldDeadlock("close() from inside a handler while another thread is closing this app")
            }
            waitingClosers += 1
            state.wait()
            waitingClosers -= 1
        }
        if closed {
            state.unlock()
            return
        }
        closing = true
        while inFlight > 0 { state.wait() }
        state.unlock()
        let status = wxnet_app_free(raw)
        let error = status == WXNET_OK ? nil : WxnetError.last(status)
        state.lock()
        if error == nil { closed = true }
        closing = false
        state.broadcast()
        state.unlock()
        if let error { throw error }
    }

    /// Threads in `close()` waiting for another thread's `close()` (for the tests).
    var closeWaiters: Int {
        state.lock()
        defer { state.unlock() }
        return waitingClosers
    }

    /// The app went to the background (`true`) or came back (`false`).
    public func setBackground(_ background: Bool) throws {
        try withRaw { try check(wxnet_app_set_background($0, background)) }
    }

    /// The device's network changed (Wi-Fi to cellular, a VPN; e.g. from an
    /// `NWPathMonitor` update): every pooled connection of the app is dropped and later
    /// requests connect anew. Requests in flight finish on their connections; sockets,
    /// cookies and learned Alt-Svc are kept. Any thread; no event follows.
    public func resetConnections() throws {
        try withRaw { try check(wxnet_app_reset_connections($0)) }
    }

    // MARK: sandbox paths

    /// The real file path of one of this app's `wxfile://` paths (`wxnet_app_resolve_path`),
    /// e.g. a download's `tempFilePath`, to show it or hand it to the OS. The file need not
    /// exist. A path the sandbox refuses throws `WxnetError.invalidArgument`.
    public func resolvePath(_ vpath: String) throws -> String {
        try pathCall(vpath) { wxnet_app_resolve_path($0, $1, $2, $3, $4) }
    }

    /// The `wxfile://` path of a real path inside this app's `tempDir` or `userDataDir`
    /// (`wxnet_app_virtual_path`); others throw `WxnetError.invalidArgument`.
    public func virtualPath(_ realPath: String) throws -> String {
        try pathCall(realPath) { wxnet_app_virtual_path($0, $1, $2, $3, $4) }
    }

    private func pathCall(
        _ text: String,
        _ call: (OpaquePointer, UnsafePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, UnsafeMutablePointer<Int>) -> wxnet_status
    ) throws -> String {
        try withRaw { raw in
            var out: UnsafeMutablePointer<CChar>?
            var length = 0
            let status = text.withCString { call(raw, $0, strlen($0), &out, &length) }
            try check(status)
            defer { wxnet_string_free(out) } // the caller owns the string
            return String(decoding: UnsafeRawBufferPointer(start: out, count: length), as: UTF8.self)
        }
    }

    /// Runs `body` with the live app pointer; `closed` if the app is (being) freed.
    private func withRaw<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        state.lock()
        if closing || closed {
            state.unlock()
            throw WxnetError.closed("the app is closed")
        }
        inFlight += 1
        state.unlock()
        defer {
            state.lock()
            inFlight -= 1
            state.broadcast()
            state.unlock()
        }
        return try body(raw)
    }

    // MARK: starting tasks (events to a handler)

    /// Starts a wx.request; `body` is an ArrayBuffer `data` (sent as is). Its events go to
    /// `onEvent` on the app's dispatcher thread.
    @discardableResult
    public func startRequest(_ options: String, body: Data? = nil, onEvent: (@Sendable (Event) -> Void)? = nil) throws -> WxTask {
        try start(TaskBox(api: .request, onEvent: onEvent), options: options, body: body)
    }

    /// Starts a wx.uploadFile (`filePath` a sandbox path such as `wxfile://usr/a.bin`).
    @discardableResult
    public func startUploadFile(_ options: String, onEvent: (@Sendable (Event) -> Void)? = nil) throws -> WxTask {
        try start(TaskBox(api: .uploadFile, onEvent: onEvent), options: options)
    }

    /// Starts a wx.downloadFile.
    @discardableResult
    public func startDownloadFile(_ options: String, onEvent: (@Sendable (Event) -> Void)? = nil) throws -> WxTask {
        try start(TaskBox(api: .downloadFile, onEvent: onEvent), options: options)
    }

    // MARK: async results (Task cancellation aborts)

    /// wx.request: the success event (`data` holds the body; `decode(RequestSuccess.self)`
    /// gives the typed res). Throws `WxnetError.fail(errMsg:errno:)` on a wx failure, another
    /// `WxnetError` when the start is refused, `CancellationError` when the calling Task is
    /// cancelled (the request is aborted).
    public func request(_ options: String, body: Data? = nil, onEvent: (@Sendable (Event) -> Void)? = nil) async throws -> Event {
        try await run(TaskBox(api: .request, onEvent: onEvent), options: options, body: body)
    }

    /// wx.uploadFile: the success event (the server's answer in `data`;
    /// `decode(UploadSuccess.self)`). As `request`.
    public func uploadFile(_ options: String, onEvent: (@Sendable (Event) -> Void)? = nil) async throws -> Event {
        try await run(TaskBox(api: .uploadFile, onEvent: onEvent), options: options)
    }

    /// wx.downloadFile: the success event (`decode(DownloadSuccess.self)`: `tempFilePath` or
    /// `filePath`). As `request`.
    public func downloadFile(_ options: String, onEvent: (@Sendable (Event) -> Void)? = nil) async throws -> Event {
        try await run(TaskBox(api: .downloadFile, onEvent: onEvent), options: options)
    }

    /// wx.connectSocket: the socket, whose `events` stream yields `.success`
    /// (`connectSocket:ok`) or a terminal `.fail`, then open / message / error and exactly
    /// one `.socketClose`, after which the stream ends.
    ///
    /// The stream is bounded: it holds at most `maxBufferedMessages` messages and
    /// `maxBufferedBytes` bytes of message payload that the consumer has not taken yet (a
    /// single larger message is admitted when none is buffered). A message beyond that
    /// overflows the stream: the socket is aborted, nothing more is added, and the consumer,
    /// after the messages buffered before it, gets `WxnetError.streamOverflow` instead of the
    /// normal end. `onEvent` (on the app's dispatcher thread) still sees every event.
    /// A limit below 1 throws `WxnetError.invalidArgument` and starts nothing.
    public func connectSocket(
        _ options: String,
        maxBufferedMessages: Int = 4096,
        maxBufferedBytes: Int = 16 << 20,
        onEvent: (@Sendable (Event) -> Void)? = nil
    ) throws -> Socket {
        guard maxBufferedMessages >= 1 else {
            throw WxnetError.invalidArgument("connectSocket: maxBufferedMessages must be at least 1, got \(maxBufferedMessages)")
        }
        guard maxBufferedBytes >= 1 else {
            throw WxnetError.invalidArgument("connectSocket: maxBufferedBytes must be at least 1, got \(maxBufferedBytes)")
        }
        let box = TaskBox(api: .connectSocket, onEvent: onEvent)
        let events = box.makeStream(maxMessages: maxBufferedMessages, maxBytes: maxBufferedBytes)
        let task = try start(box, options: options)
        return Socket(task: task, events: events)
    }

    private func run(_ box: TaskBox, options: String, body: Data? = nil) async throws -> Event {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Event, Error>) in
                box.setContinuation(cont)
                do {
                    _ = try start(box, options: options, body: body)
                } catch {
                    box.startFailed(error)
                }
            }
        } onCancel: {
            box.cancel()
        }
    }

    /// Starts a task whose user data is `box`, retained until its terminal event.
    private func start(_ box: TaskBox, options: String, body: Data? = nil) throws -> WxTask {
        try withRaw { app in
            let ud = Unmanaged.passRetained(box).toOpaque()
            var id: wxnet_task_id = 0
            let status: wxnet_status = options.utf8CString.withUnsafeBufferPointer { opts in
                let (p, n) = (opts.baseAddress, opts.count - 1)
                switch box.api {
                case .request:
                    if let body {
                        return body.withUnsafeBytes { b in
                            wxnet_request(app, p, n, b.bindMemory(to: UInt8.self).baseAddress, b.count, ud, &id)
                        }
                    }
                    return wxnet_request(app, p, n, nil, 0, ud, &id)
                case .uploadFile: return wxnet_upload_file(app, p, n, ud, &id)
                case .downloadFile: return wxnet_download_file(app, p, n, ud, &id)
                case .connectSocket: return wxnet_connect_socket(app, p, n, ud, &id)
                }
            }
            if status != WXNET_OK {
                let error = WxnetError.last(status)
                // No event will come: balance the retain now.
                Unmanaged<TaskBox>.fromOpaque(ud).release()
                throw error
            }
            box.started(id: id)
            return WxTask(id: id, api: box.api)
        }
    }
}

/// An app pointer handed to another thread to be freed there (nothing else uses it).
private struct PendingFree: @unchecked Sendable {
    let raw: OpaquePointer
    func free() { _ = wxnet_app_free(raw) }
}

/// A started task.
public struct WxTask: Sendable, Hashable {
    /// The task id (never 0, never reused).
    public let id: UInt64
    public let api: Api

    /// Aborts the task: it ends with FAIL `…:fail abort` (a socket closes with 1000) unless it
    /// already ended. Never blocks, idempotent, any thread; a no-op once its app is freed.
    public func abort() {
        _ = wxnet_task_abort(id)
    }
}

/// A wx.connectSocket task.
public final class Socket: Sendable {
    public let task: WxTask
    /// The socket's events, ending after the terminal event, or throwing
    /// `WxnetError.streamOverflow` after the buffered messages if the consumer fell behind by
    /// more than the limits given to `connectSocket`. Cancelling the Task that iterates it
    /// aborts (closes) the socket.
    public let events: SocketEvents

    init(task: WxTask, events: SocketEvents) {
        self.task = task
        self.events = events
    }

    public var id: UInt64 { task.id }

    /// Sends a text frame; not open: `WxnetError.invalidState`.
    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        try check(bytes.withUnsafeBufferPointer { wxnet_socket_send(id, $0.baseAddress, $0.count, false) })
    }

    /// Sends a binary frame.
    public func send(_ data: Data) throws {
        try check(data.withUnsafeBytes { wxnet_socket_send(id, $0.bindMemory(to: UInt8.self).baseAddress, $0.count, true) })
    }

    /// Closes with `code` (1000 or 3000-4999) and `reason` (at most 123 UTF-8 bytes).
    public func close(code: Int32 = 1000, reason: String = "") throws {
        let bytes = Array(reason.utf8)
        try check(bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { wxnet_socket_close(id, code, $0.baseAddress, $0.count) }
        })
    }

    /// Aborts the socket (close with 1000).
    public func abort() { task.abort() }
}

/// What a task's user data points to: the handler, the awaiting continuation or the event
/// stream, and the cancellation state.
final class TaskBox: @unchecked Sendable {
    let api: Api
    private let onEvent: (@Sendable (Event) -> Void)?
    private let lock = NSLock()
    private var id: UInt64 = 0
    private var cancelled = false
    private var continuation: CheckedContinuation<Event, Error>?
    private var stream: SocketEventBuffer?

    init(api: Api, onEvent: (@Sendable (Event) -> Void)?) {
        self.api = api
        self.onEvent = onEvent
        TaskBox.count(+1)
    }

    deinit { TaskBox.count(-1) }

    // Live boxes, for the tests' exactly-once release checks.
    private static let countLock = NSLock()
    nonisolated(unsafe) private static var liveBoxes = 0
    static var live: Int {
        countLock.lock()
        defer { countLock.unlock() }
        return liveBoxes
    }
    private static func count(_ delta: Int) {
        countLock.lock()
        liveBoxes += delta
        countLock.unlock()
    }

    func isTerminal(_ kind: Int32) -> Bool {
        switch api {
        case .connectSocket: return kind == WXNET_EVENT_FAIL || kind == WXNET_EVENT_SOCKET_CLOSE
        default: return kind == WXNET_EVENT_SUCCESS || kind == WXNET_EVENT_FAIL
        }
    }

    /// The bounded event stream of a socket; cancelling its consumer aborts the task.
    func makeStream(maxMessages: Int, maxBytes: Int) -> SocketEvents {
        let buffer = SocketEventBuffer(maxMessages: maxMessages, maxBytes: maxBytes) { [weak self] in
            self?.cancel()
        }
        lock.lock()
        stream = buffer
        lock.unlock()
        return buffer.events
    }

    func setContinuation(_ cont: CheckedContinuation<Event, Error>) {
        lock.lock()
        continuation = cont
        lock.unlock()
    }

    func started(id: UInt64) {
        lock.lock()
        if self.id == 0 { self.id = id }
        let abortNow = cancelled
        lock.unlock()
        if abortNow { _ = wxnet_task_abort(id) }
    }

    func startFailed(_ error: Error) {
        lock.lock()
        let cont = continuation
        continuation = nil
        lock.unlock()
        cont?.resume(throwing: error)
    }

    /// Task cancellation: abort once the id is known.
    func cancel() {
        lock.lock()
        cancelled = true
        let id = self.id
        lock.unlock()
        if id != 0 { _ = wxnet_task_abort(id) }
    }

    /// What is left to do after a terminal event, once the box is released: finish the
    /// stream and resume the awaiting continuation. Holds no reference to the box.
    struct Ending {
        let event: Event
        let stream: SocketEventBuffer?
        let continuation: CheckedContinuation<Event, Error>?
        let wasCancelled: Bool

        func complete() {
            stream?.finish()
            guard let continuation else { return }
            if event.rawKind == WXNET_EVENT_SUCCESS {
                continuation.resume(returning: event)
            } else if wasCancelled {
                continuation.resume(throwing: CancellationError())
            } else {
                continuation.resume(throwing: WxnetError.fail(event))
            }
        }
    }

    /// Delivers one event (dispatcher thread); for the terminal one, returns what to
    /// complete after the box is released (nil for the others).
    func deliver(_ event: Event) -> Ending? {
        let last = isTerminal(event.rawKind)
        lock.lock()
        if id == 0 { id = event.task }
        let stream = self.stream
        let cont = last ? continuation : nil
        if last {
            continuation = nil
            self.stream = nil
        }
        let wasCancelled = cancelled
        lock.unlock()
        onEvent?(event)
        if let stream, stream.offer(event) == .overflowed {
            // The consumer fell behind: end the socket (its CLOSE still reaches `onEvent`).
            _ = wxnet_task_abort(event.task)
        }
        return last ? Ending(event: event, stream: stream, continuation: cont, wasCancelled: wasCancelled) : nil
    }
}
