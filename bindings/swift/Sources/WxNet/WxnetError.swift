import CWxnet
import Foundation

/// Every error the WxNet API throws (besides `CancellationError` when the awaiting Task is
/// cancelled). The associated text is the library's explanation (`wxnet_last_error()`), or
/// the wx `errMsg` for `.fail`.
public enum WxnetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A wx failure of a request, upload or download (its FAIL event): `errMsg` such as
    /// `"request:fail abort"` and the wx `errno` (e.g. 600002 domain not allowed, 600003
    /// interrupted).
    case fail(errMsg: String, errno: Int)
    /// A required argument was null (`WXNET_E_NULL_ARGUMENT`).
    case nullArgument(String)
    /// Malformed options JSON, a bad value or a path the sandbox refuses
    /// (`WXNET_E_INVALID_ARGUMENT`).
    case invalidArgument(String)
    /// The app config was refused; the text names the field (`WXNET_E_INVALID_CONFIG`).
    case invalidConfig(String)
    /// No such task, or it already ended (`WXNET_E_UNKNOWN_TASK`).
    case unknownTask(String)
    /// Not possible now, e.g. sending on a socket that is not open (`WXNET_E_INVALID_STATE`).
    case invalidState(String)
    /// The call does not match the app's delivery mode (`WXNET_E_WRONG_MODE`).
    case wrongMode(String)
    /// `close()` from inside one of the app's own handlers (`WXNET_E_WOULD_DEADLOCK`).
    case wouldDeadlock(String)
    /// The app is closed (or closing) (`WXNET_E_CLOSED`).
    case closed(String)
    /// The library caught an internal panic (`WXNET_E_PANIC`).
    case panic(String)
    /// An event's `res` did not have the shape of the requested result type.
    case unexpectedResult(String)
    /// A status this binding does not know (a newer library).
    case unknownStatus(Int32, String)
    /// A socket's `events` stream overflowed: the consumer did not keep up, so the socket was
    /// aborted. Thrown by the stream after the messages buffered before the overflow; carries
    /// the buffered counts at the overflow and the limits given to `connectSocket`.
    case streamOverflow(messages: Int, bytes: Int, maxMessages: Int, maxBytes: Int)

    /// The error for a non-OK `wxnet_status` with the library's explanation.
    init(status: Int32, detail: String) {
        switch status {
        case WXNET_E_NULL_ARGUMENT: self = .nullArgument(detail)
        case WXNET_E_INVALID_ARGUMENT: self = .invalidArgument(detail)
        case WXNET_E_INVALID_CONFIG: self = .invalidConfig(detail)
        case WXNET_E_UNKNOWN_TASK: self = .unknownTask(detail)
        case WXNET_E_INVALID_STATE: self = .invalidState(detail)
        case WXNET_E_WRONG_MODE: self = .wrongMode(detail)
        case WXNET_E_WOULD_DEADLOCK: self = .wouldDeadlock(detail)
        case WXNET_E_CLOSED: self = .closed(detail)
        case WXNET_E_PANIC: self = .panic(detail)
        default: self = .unknownStatus(status, detail)
        }
    }

    /// Reads the thread's last error: call right after the failing wxnet call.
    static func last(_ status: wxnet_status) -> WxnetError {
        WxnetError(status: status, detail: String(cString: wxnet_last_error()))
    }

    /// The error of a terminal FAIL event.
    static func fail(_ event: Event) -> WxnetError {
        let res = event.res
        return .fail(errMsg: res["errMsg"] as? String ?? "", errno: (res["errno"] as? NSNumber)?.intValue ?? 0)
    }

    /// The `WXNET_E_*` status, or nil for `.fail`, `.unexpectedResult` and `.streamOverflow`
    /// (not C statuses).
    public var status: Int32? {
        switch self {
        case .fail, .unexpectedResult, .streamOverflow: return nil
        case .nullArgument: return WXNET_E_NULL_ARGUMENT
        case .invalidArgument: return WXNET_E_INVALID_ARGUMENT
        case .invalidConfig: return WXNET_E_INVALID_CONFIG
        case .unknownTask: return WXNET_E_UNKNOWN_TASK
        case .invalidState: return WXNET_E_INVALID_STATE
        case .wrongMode: return WXNET_E_WRONG_MODE
        case .wouldDeadlock: return WXNET_E_WOULD_DEADLOCK
        case .closed: return WXNET_E_CLOSED
        case .panic: return WXNET_E_PANIC
        case let .unknownStatus(status, _): return status
        }
    }

    /// The explanation: the library's text, the wx `errMsg` of `.fail`, or the overflow text.
    public var message: String {
        switch self {
        case let .fail(errMsg, _): return errMsg
        case let .nullArgument(m), let .invalidArgument(m), let .invalidConfig(m), let .unknownTask(m),
             let .invalidState(m), let .wrongMode(m), let .wouldDeadlock(m), let .closed(m), let .panic(m),
             let .unexpectedResult(m), let .unknownStatus(_, m):
            return m
        case let .streamOverflow(messages, bytes, maxMessages, maxBytes):
            return "socket event stream overflow: the consumer did not keep up (\(messages) messages / \(bytes) bytes buffered; limits \(maxMessages) messages / \(maxBytes) bytes)"
        }
    }

    /// The wx `errno` of `.fail`, else nil.
    public var errno: Int? {
        if case let .fail(_, errno) = self { return errno }
        return nil
    }

    public var description: String {
        switch self {
        case let .fail(errMsg, errno): return "\(errMsg) (errno \(errno))"
        case let .unexpectedResult(m): return "unexpected result: \(m)"
        case .streamOverflow: return message
        default:
            let status = self.status ?? 0
            let name = String(cString: wxnet_status_str(status))
            return message.isEmpty ? "\(name) (\(status))" : "\(name) (\(status)): \(message)"
        }
    }
}

/// Throws `WxnetError` for a non-OK status.
func check(_ status: wxnet_status) throws {
    if status != WXNET_OK {
        throw WxnetError.last(status)
    }
}
