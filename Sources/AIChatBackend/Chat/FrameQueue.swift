import NIOCore
import Synchronization

/// The frames on their way to one watcher of an answer: the job appends, the watcher's connection takes. What
/// piles up while the connection is busy writing is taken as one buffer, so a client that fell behind catches up
/// in few writes.
///
/// A waiting watcher holds one continuation and no cancellation handler (a watcher's task is small for as long
/// as the answer streams): it is woken by the next frame, and keep-alive pings come at least every heartbeat.
final class FrameQueue: Sendable {
    private struct State {
        var pending: ByteBuffer?
        var waiter: UnsafeContinuation<ByteBuffer?, Never>?
        /// Told once when frames (or the end) arrive, instead of a waiting task.
        var consumer: (any FrameConsumer)?
        var finished = false

        mutating func append(_ frame: ByteBuffer) {
            if self.pending == nil {
                self.pending = frame
            } else {
                self.pending?.writeImmutableBuffer(frame)
            }
        }

        /// What is pending, taken.
        mutating func takePending() -> ByteBuffer? {
            defer { self.pending = nil }
            return self.pending
        }
    }

    private let state = Mutex(State())

    /// Adds a frame; ignored once the queue is finished.
    func push(_ frame: ByteBuffer) {
        let (waiter, consumer) = self.state.withLock { state -> (UnsafeContinuation<ByteBuffer?, Never>?, (any FrameConsumer)?) in
            guard !state.finished else { return (nil, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, nil)
            }
            state.append(frame)
            defer { state.consumer = nil }
            return (nil, state.consumer)
        }
        waiter?.resume(returning: frame)
        consumer?.framesArrived()
    }

    /// Adds a frame without waking the watcher: for frames that must stay in order with others added under the
    /// caller's lock; ``wake()`` follows once that lock is released.
    func add(_ frame: ByteBuffer) {
        self.state.withLock { state in
            guard !state.finished else { return }
            state.append(frame)
        }
    }

    /// Wakes the watcher when frames are pending.
    func wake() {
        let (waiter, frames, consumer) = self.state.withLock {
            state -> (UnsafeContinuation<ByteBuffer?, Never>?, ByteBuffer?, (any FrameConsumer)?) in
            guard state.pending != nil else { return (nil, nil, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, state.takePending(), nil)
            }
            defer { state.consumer = nil }
            return (nil, nil, state.consumer)
        }
        if let waiter { waiter.resume(returning: frames) }
        consumer?.framesArrived()
    }

    /// No more frames: the watcher gets what is pending, then the end.
    func finish() {
        let (waiter, consumer) = self.state.withLock { state -> (UnsafeContinuation<ByteBuffer?, Never>?, (any FrameConsumer)?) in
            state.finished = true
            defer {
                state.waiter = nil
                state.consumer = nil
            }
            return (state.waiter, state.consumer)
        }
        waiter?.resume(returning: nil)
        consumer?.framesArrived()
    }

    enum Taken {
        case frames(ByteBuffer)
        case end
        /// Nothing yet: the consumer is told when something arrives.
        case later
    }

    /// The frames that arrived since the last call, the end, or, when neither is there, a promise to tell
    /// `consumer` (once) when one is.
    func take(orTell consumer: any FrameConsumer) -> Taken {
        self.state.withLock { state in
            if let pending = state.takePending() { return .frames(pending) }
            if state.finished { return .end }
            state.consumer = consumer
            return .later
        }
    }

    /// Forgets a consumer that is no longer interested.
    func forgetConsumer() {
        _ = self.state.withLock { state in
            defer { state.consumer = nil }
            return state.consumer
        }
    }

    /// The frames that arrived since the last call (waiting for one when none did); nil at the end.
    func next() async -> ByteBuffer? {
        if let ready = self.take() { return ready }
        return await withUnsafeContinuation { continuation in
            let ready = self.state.withLock { state -> ByteBuffer?? in
                if let pending = state.takePending() { return .some(pending) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// What is ready without waiting: frames, or `.some(nil)` at the end.
    private func take() -> ByteBuffer?? {
        self.state.withLock { state -> ByteBuffer?? in
            if let pending = state.takePending() { return .some(pending) }
            return state.finished ? .some(nil) : nil
        }
    }
}

/// Takes a ``FrameQueue``'s frames when told they are there (``FrameQueue/take(orTell:)``).
protocol FrameConsumer: AnyObject, Sendable {
    /// Frames or the end arrived; called on the thread that added them, outside the queue's lock.
    func framesArrived()
}
