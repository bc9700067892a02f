import Foundation

/// A socket's events (`Socket.events`), as an `AsyncSequence` of `Event` that ends after the
/// terminal event, or throws `WxnetError.streamOverflow` (after every message buffered before
/// the overflow) when the consumer fell behind by more than the socket's limits. One consumer
/// at a time; cancelling the Task that iterates it aborts (closes) the socket.
public struct SocketEvents: AsyncSequence, Sendable {
    public typealias Element = Event

    let stream: AsyncThrowingStream<Event, Error>
    let buffer: SocketEventBuffer

    public func makeAsyncIterator() -> Iterator {
        Iterator(inner: stream.makeAsyncIterator(), buffer: buffer)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var inner: AsyncThrowingStream<Event, Error>.Iterator
        let buffer: SocketEventBuffer

        /// The next event; each message taken frees its room in the buffer.
        public mutating func next() async throws -> Event? {
            let event = try await inner.next()
            if let event { buffer.taken(event) }
            return event
        }
    }
}

/// What stands between a socket's events (delivered on the app's dispatcher thread) and its
/// consumer: an `AsyncThrowingStream` plus the count of messages and payload bytes in it that
/// the consumer has not taken yet, bounded by the socket's limits. Holds no reference to the
/// task's box, so the box is still released on the terminal event.
final class SocketEventBuffer: @unchecked Sendable {
    enum Offer: Equatable { case buffered, dropped, overflowed }

    let maxMessages: Int
    let maxBytes: Int
    private let stream: AsyncThrowingStream<Event, Error>
    private let continuation: AsyncThrowingStream<Event, Error>.Continuation
    private let lock = NSLock()
    // Buffered and not yet taken by the consumer (under `lock`).
    private var messages = 0
    private var bytes = 0
    /// Finished (normally or by overflow): nothing more is added.
    private var ended = false

    /// `onCancel` runs when the consumer's Task is cancelled while it iterates.
    init(maxMessages: Int, maxBytes: Int, onCancel: (@Sendable () -> Void)? = nil) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        let (stream, continuation) = AsyncThrowingStream<Event, Error>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { termination in
            if case .cancelled = termination { onCancel?() }
        }
        self.stream = stream
        self.continuation = continuation
    }

    /// The consumer's side.
    var events: SocketEvents { SocketEvents(stream: stream, buffer: self) }

    /// The payload size a message counts for (UTF-8 bytes of a text message, raw length of a
    /// binary one); nil for events that are not messages (always admitted, not counted).
    private static func size(_ event: Event) -> Int? {
        event.rawKind == EventKind.socketMessage.rawValue ? event.data?.count ?? 0 : nil
    }

    /// Adds one event (dispatcher thread). `.overflowed` (once): the stream now ends with
    /// `WxnetError.streamOverflow` after what it holds; the caller aborts the socket.
    func offer(_ event: Event) -> Offer {
        lock.lock()
        defer { lock.unlock() }
        if ended { return .dropped }
        if let size = Self.size(event) {
            if messages > 0 && (messages + 1 > maxMessages || bytes + size > maxBytes) {
                ended = true
                continuation.finish(throwing: WxnetError.streamOverflow(
                    messages: messages, bytes: bytes, maxMessages: maxMessages, maxBytes: maxBytes))
                return .overflowed
            }
            messages += 1
            bytes += size
        }
        // Counted before the consumer can take it (and uncount it in `taken`).
        continuation.yield(event)
        return .buffered
    }

    /// The normal end, after the terminal event; a no-op after an overflow.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if ended { return }
        ended = true
        continuation.finish()
    }

    /// The consumer took `event` off the stream.
    func taken(_ event: Event) {
        guard let size = Self.size(event) else { return }
        lock.lock()
        messages -= 1
        bytes -= size
        lock.unlock()
    }
}
