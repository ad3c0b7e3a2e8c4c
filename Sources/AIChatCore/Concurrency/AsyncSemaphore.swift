import Synchronization

/// A first-in, first-out semaphore for async code: at most `permits` holders at a time.
///
/// Taking a free permit and giving one back do not suspend (a lock, not an actor hop); only a caller that has to
/// wait suspends, and it is resumed in arrival order.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var firstWaiter = 0
    }

    private let state: Mutex<State>

    public init(permits: Int) {
        self.state = Mutex(State(available: permits))
    }

    public func acquire() async {
        let granted = self.state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
        if granted { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let grantedNow = self.state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if grantedNow { continuation.resume() }
        }
    }

    public func release() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.firstWaiter < state.waiters.count else {
                state.available += 1
                return nil
            }
            let waiter = state.waiters[state.firstWaiter]
            state.firstWaiter += 1
            // Drop the served part of the queue now and then instead of shifting it on every release.
            if state.firstWaiter == state.waiters.count || state.firstWaiter >= 64 {
                state.waiters.removeFirst(state.firstWaiter)
                state.firstWaiter = 0
            }
            return waiter
        }
        next?.resume()
    }

    public func withPermit<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await self.acquire()
        defer { self.release() }
        return try await body()
    }
}
