import AIChatCore

/// Failed-login bookkeeping that slows attackers without letting them lock others out.
///
/// Two counters, both over a sliding window:
/// - per (username, client address) pair: after `refuseAfter` failures that pair is refused (429 with `Retry-After`)
///   until the oldest failure leaves the window. Ten bad passwords from one address lock out that address for that
///   name only: the owner, from anywhere else, still gets in.
/// - per username and per address alone: after the much higher `slowDownAfter` failures each further attempt waits
///   before it is checked — one second, doubling per failure, at most `maxStep` — and these waits queue one behind
///   another, so parallel requests gain nothing. An attempt that would queue longer than `maxQueue` is refused with
///   the time until it would fit; nobody is refused for the failures of others before that.
///
/// Other callers (the current password on a password change) use the plain refusal counter of ``retryAfter(keys:now:)``.
public actor LoginThrottle {
    public struct Policy: Sendable {
        public var refuseAfter: Int
        public var slowDownAfter: Int
        public var windowSeconds: Int
        public var maxStepMilliseconds: Int64 = 10_000
        public var maxQueueMilliseconds: Int64 = 30_000

        public init(refuseAfter: Int, slowDownAfter: Int, windowSeconds: Int) {
            self.refuseAfter = refuseAfter
            self.slowDownAfter = slowDownAfter
            self.windowSeconds = windowSeconds
        }
    }

    /// What a login attempt may do now.
    public enum Admission: Equatable, Sendable {
        /// Check the password after waiting this many milliseconds (0: at once).
        case proceed(afterMilliseconds: Int64)
        /// Answer 429; the client may try again after this many seconds.
        case refused(retryAfterSeconds: Int)
    }

    let policy: Policy
    let window: Int64
    private var failures: [String: [Int64]] = [:]
    /// The earliest moment the next slowed attempt for a key may be checked.
    private var nextSlot: [String: Int64] = [:]
    private var lastSweep: Int64 = 0

    public init(policy: Policy) {
        self.policy = policy
        self.window = Int64(policy.windowSeconds) * 1000
    }

    /// Decides a login attempt for `username` from `address`, reserving its place in the slow-down queues.
    public func admit(username: String, address: String, now: Int64 = Timestamp.now().milliseconds) -> Admission {
        let names = Self.keys(username: username, address: address)
        if let wait = self.retryAfter(keys: [names.pair], now: now) { return .refused(retryAfterSeconds: wait) }
        var slots: [(key: String, start: Int64, step: Int64)] = []
        for key in [names.user, names.address] {
            let excess = self.recent(key, now: now).count - self.policy.slowDownAfter
            guard excess >= 0 else { continue }
            let step = min(1000 << Int64(min(excess, 20)), self.policy.maxStepMilliseconds)
            slots.append((key, max(now, self.nextSlot[key] ?? now), step))
        }
        let start = slots.map(\.start).max() ?? now
        if start - now > self.policy.maxQueueMilliseconds {
            return .refused(retryAfterSeconds: Int((start - now - self.policy.maxQueueMilliseconds + 999) / 1000))
        }
        for slot in slots { self.nextSlot[slot.key] = start + slot.step }
        return .proceed(afterMilliseconds: start - now)
    }

    public func recordFailure(username: String, address: String, now: Int64 = Timestamp.now().milliseconds) {
        let names = Self.keys(username: username, address: address)
        self.recordFailure(keys: [names.pair, names.user, names.address], now: now)
    }

    /// A correct password clears its pair; the username and address counters stay, as they measure others too.
    public func recordSuccess(username: String, address: String) {
        self.failures[Self.keys(username: username, address: address).pair] = nil
    }

    /// Seconds to wait before another attempt for any of `keys` (refused after `refuseAfter` failures), or nil.
    public func retryAfter(keys: [String], now: Int64 = Timestamp.now().milliseconds) -> Int? {
        var longest: Int64 = 0
        for key in keys {
            let recent = self.recent(key, now: now)
            if recent.count >= self.policy.refuseAfter, let oldest = recent.first {
                longest = max(longest, oldest + self.window - now)
            }
        }
        return longest > 0 ? Int((longest + 999) / 1000) : nil
    }

    public func recordFailure(keys: [String], now: Int64 = Timestamp.now().milliseconds) {
        for key in keys {
            var recent = self.recent(key, now: now)
            recent.append(now)
            self.failures[key] = recent
        }
        self.sweep(now: now)
    }

    private static func keys(username: String, address: String) -> (pair: String, user: String, address: String) {
        let name = username.lowercased()
        return ("pair:\(name)\u{0}\(address)", "user:\(name)", "addr:\(address)")
    }

    private func recent(_ key: String, now: Int64) -> [Int64] {
        (self.failures[key] ?? []).filter { $0 > now - self.window }
    }

    /// Drops stale keys now and then so the tables cannot grow without bound.
    private func sweep(now: Int64) {
        guard now - self.lastSweep > self.window else { return }
        self.lastSweep = now
        self.failures = self.failures.filter { _, times in times.contains { $0 > now - self.window } }
        self.nextSlot = self.nextSlot.filter { $0.value > now }
    }
}
