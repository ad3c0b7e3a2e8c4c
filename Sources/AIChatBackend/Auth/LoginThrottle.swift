import AIChatCore

/// Counts failed logins per username and per client address in a sliding window.
///
/// After `maxFailures` failures within `window` the key is refused until the oldest failure leaves the window;
/// the refusal carries the number of seconds to wait (`Retry-After`). A successful login clears the username.
public actor LoginThrottle {
    let maxFailures: Int
    let window: Int64
    private var failures: [String: [Int64]] = [:]
    private var lastSweep: Int64 = 0

    public init(maxFailures: Int, windowSeconds: Int) {
        self.maxFailures = maxFailures
        self.window = Int64(windowSeconds) * 1000
    }

    /// Seconds to wait before another attempt for any of `keys`, or nil when attempts are allowed.
    public func retryAfter(keys: [String], now: Int64 = Timestamp.now().milliseconds) -> Int? {
        var longest: Int64 = 0
        for key in keys {
            let recent = self.recent(key, now: now)
            if recent.count >= self.maxFailures, let oldest = recent.first {
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

    public func clear(key: String) {
        self.failures[key] = nil
    }

    private func recent(_ key: String, now: Int64) -> [Int64] {
        (self.failures[key] ?? []).filter { $0 > now - self.window }
    }

    /// Drops stale keys now and then so the table cannot grow without bound.
    private func sweep(now: Int64) {
        guard now - self.lastSweep > self.window else { return }
        self.lastSweep = now
        self.failures = self.failures.filter { _, times in times.contains { $0 > now - self.window } }
    }
}
