import Synchronization

/// Values read from the database kept for a short time, so that a burst of requests does not read the same row
/// each time.
///
/// The owner calls ``forget(_:)`` for every change it makes; a lookup that overlapped a change does not store what
/// it read (it may be the old value). Another process's changes are seen after at most `lifetime`. Full: emptied.
final class ShortLivedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let lifetime: Duration
    let capacity: Int
    private let state = Mutex(State())

    private struct State {
        var entries: [Key: (value: Value, expires: ContinuousClock.Instant)] = [:]
        var changes: UInt64 = 0
    }

    init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The kept value, or the one `load` reads (kept unless it is nil: a missing row may appear a moment later).
    func value(for key: Key, load: () async throws -> Value?) async throws -> Value? {
        let now = ContinuousClock.now
        let (cached, changes) = self.state.withLock { ($0.entries[key], $0.changes) }
        if let cached, cached.expires > now { return cached.value }
        guard let value = try await load() else { return nil }
        self.state.withLock { state in
            guard state.changes == changes else { return }
            if state.entries.count >= self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = (value, now + self.lifetime)
        }
        return value
    }

    func forget(_ key: Key) {
        self.state.withLock { state in
            state.changes &+= 1
            state.entries.removeValue(forKey: key)
        }
    }

    /// Runs a change to `key`'s row, forgetting the kept value before and after it.
    func changing<T>(_ key: Key, _ change: () async throws -> T) async throws -> T {
        self.forget(key)
        defer { self.forget(key) }
        return try await change()
    }
}
