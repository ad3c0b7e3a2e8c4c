import NIOCore
import Synchronization

/// The frames on their way to one watcher of an answer: the job appends, the watcher's response takes. What
/// piles up while the connection is busy writing is taken as one buffer, so a client that fell behind catches up
/// in few writes.
///
/// A waiting watcher holds one continuation and no cancellation handler: it is woken by the next frame, and
/// keep-alive pings come at least every heartbeat, so a watcher whose client left notices at its next write.
final class FrameQueue: Sendable {
    private struct State {
        var pending: ByteBuffer?
        var waiter: UnsafeContinuation<ByteBuffer?, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    /// Adds a frame; ignored once the queue is finished.
    func push(_ frame: ByteBuffer) {
        let waiter = self.state.withLock { state -> UnsafeContinuation<ByteBuffer?, Never>? in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if state.pending == nil {
                state.pending = frame
            } else {
                state.pending?.writeImmutableBuffer(frame)
            }
            return nil
        }
        waiter?.resume(returning: frame)
    }

    /// No more frames: the watcher gets what is pending, then the end.
    func finish() {
        let waiter = self.state.withLock { state -> UnsafeContinuation<ByteBuffer?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The frames that arrived since the last call (waiting for one when none did); nil at the end.
    func next() async -> ByteBuffer? {
        await withUnsafeContinuation { continuation in
            let ready = self.state.withLock { state -> ByteBuffer?? in
                if let pending = state.pending {
                    state.pending = nil
                    return .some(pending)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
