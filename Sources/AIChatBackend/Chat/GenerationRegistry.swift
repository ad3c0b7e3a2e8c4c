import Synchronization

/// The running jobs, at most one per session, the title requests that follow answers, and the one clock that drives
/// the jobs' keep-alives and timeouts.
///
/// A send reserves its session before it stores its question, so two sends racing in one session cannot both
/// store a question: the second is refused (or, with the same `clientMessageId`, attached to the first's answer).
public final class GenerationRegistry: Sendable {
    private struct State {
        var jobs: [Int: GenerationJob] = [:]
        var reserved: Set<Int> = []
        var titles: [UInt64: Task<Void, Never>] = [:]
        var nextTitle: UInt64 = 0
        var ticker: Task<Void, Never>?
        var draining = false
    }

    private let state = Mutex(State())
    static let tickInterval = Duration.milliseconds(250)
    /// Writes the running answers' partial text (every fourth tick: once a second); nil: not kept (tests of the job).
    let checkpoints: AnswerCheckpoints?

    init(checkpoints: AnswerCheckpoints? = nil) {
        self.checkpoints = checkpoints
    }

    func job(sessionId: Int) -> GenerationJob? {
        self.state.withLock { $0.jobs[sessionId] }
    }

    var running: [GenerationJob] { self.state.withLock { Array($0.jobs.values) } }
    var isDraining: Bool { self.state.withLock { $0.draining } }

    /// What a send finds in its session.
    enum Reservation {
        /// The session is the caller's until ``register(_:)`` or ``release(sessionId:)``.
        case reserved
        /// An answer runs there.
        case running(GenerationJob)
        /// Another send is storing its question there right now.
        case busy
        /// The server is shutting down.
        case draining
    }

    func reserve(sessionId: Int) -> Reservation {
        self.state.withLock { state in
            if state.draining { return .draining }
            if let job = state.jobs[sessionId] { return .running(job) }
            guard state.reserved.insert(sessionId).inserted else { return .busy }
            return .reserved
        }
    }

    func release(sessionId: Int) {
        _ = self.state.withLock { $0.reserved.remove(sessionId) }
    }

    /// Registers a job (taking over its session's reservation) unless the session already has one (returned
    /// instead) or the server is shutting down (nil).
    func register(_ job: GenerationJob) -> GenerationJob? {
        self.state.withLock { state -> GenerationJob? in
            state.reserved.remove(job.sessionId)
            if state.draining { return nil }
            if let existing = state.jobs[job.sessionId] { return existing }
            state.jobs[job.sessionId] = job
            if state.ticker == nil {
                state.ticker = Task { await self.runTicker() }
            }
            return job
        }
    }

    /// Discards the running jobs of `userId` (all of them, or the one in `sessionId`) and waits until they have
    /// ended, so that deleting their chats or messages cannot race with saving an answer.
    func discard(userId: Int, sessionId: Int? = nil) async {
        let jobs = self.state.withLock { state in
            state.jobs.values.filter { $0.userId == userId && (sessionId == nil || $0.sessionId == sessionId) }
        }
        for job in jobs { job.discard() }
        for job in jobs { await job.wait() }
    }

    func remove(_ job: GenerationJob) {
        self.state.withLock { state in
            if state.jobs[job.sessionId] === job { state.jobs[job.sessionId] = nil }
        }
    }

    /// Runs a title request after an answer, tracked so that shutdown waits for it (or cancels it); not started
    /// while the server shuts down.
    func runTitleRequest(_ work: @escaping @Sendable () async -> Void) {
        self.state.withLock { state in
            guard !state.draining else { return }
            let id = state.nextTitle
            state.nextTitle += 1
            state.titles[id] = Task {
                await work()
                _ = self.state.withLock { $0.titles.removeValue(forKey: id) }
            }
        }
    }

    /// Ticks every running job until none is left (a later job starts a new ticker), and writes their checkpoints.
    private func runTicker() async {
        var ticks = 0
        while true {
            try? await Task.sleep(for: Self.tickInterval)
            let jobs = self.state.withLock { state -> [GenerationJob]? in
                if state.jobs.isEmpty {
                    state.ticker = nil
                    return nil
                }
                return Array(state.jobs.values)
            }
            guard let jobs else { return }
            let now = ContinuousClock.now
            for job in jobs { job.tick(now: now) }
            ticks += 1
            if ticks % 4 == 0, let checkpoints = self.checkpoints { await checkpoints.write(jobs) }
        }
    }

    /// Refuses new jobs, lets running ones finish for up to `grace`, then stops the rest (their partial answers
    /// are saved) and waits for them to persist; title requests still running then are cancelled and awaited.
    public func drain(grace: Duration) async {
        self.state.withLock { $0.draining = true }
        let deadline = ContinuousClock.now + grace
        while !self.running.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = self.running
        for job in left { job.requestStop() }
        for job in left { await job.wait() }
        let titles = self.state.withLock { Array($0.titles.values) }
        for title in titles { title.cancel() }
        for title in titles { await title.value }
        let ticker = self.state.withLock { $0.ticker }
        await ticker?.value
    }
}
