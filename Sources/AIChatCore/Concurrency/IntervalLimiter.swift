import Synchronization

/// Lets one event through per `interval`; for the others it says how many seconds to wait.
public final class IntervalLimiter: Sendable {
    let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    public init(interval: Duration) {
        self.interval = interval
    }

    /// nil when the event may happen now (and it is counted); otherwise the whole seconds until it may.
    public func admit(now: ContinuousClock.Instant = .now) -> Int? {
        self.last.withLock { last in
            if let last, now < last + self.interval {
                let remaining = (last + self.interval) - now
                return Int(remaining.components.seconds) + (remaining.components.attoseconds > 0 ? 1 : 0)
            }
            last = now
            return nil
        }
    }
}
