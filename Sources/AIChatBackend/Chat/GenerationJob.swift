import AIChatCore
import NIOCore
import Synchronization

/// One answer being generated: a server-side job that outlives the HTTP request that started it.
///
/// Any number of clients may watch it. A client that attaches late first receives what was produced so far
/// (the opening events, all reasoning and content as one event each, and the events after them), then the live
/// rest. Keep-alive `: ping` comments go to every watcher from the first moment, also while the provider has
/// not answered yet.
public final class GenerationJob: Sendable {
    public let sessionId: Int
    public let userId: Int
    /// The question's message id; 0 until the message is stored (``publish(userMessageId:)``).
    public var userMessageId: Int { self.messageId.withLock { $0.id } }
    public let clientMessageId: String?
    private let messageId: Mutex<MessageId>
    private let state = Mutex(State())
    private let control = Mutex(Control())
    private let failure = Mutex<String?>(nil)
    private let timing = Mutex(Timing())

    /// The question's message id, and who waits for it.
    struct MessageId {
        var id: Int
        /// Set when the message will never be known (the job was discarded first).
        var abandoned = false
        var waiters: [CheckedContinuation<Int?, Never>] = []
    }

    /// Why an answer was cut short by the server's clocks.
    enum Interruption: Sendable {
        case idle
        case overall
    }

    /// How the job's current step is cancelled, and who waits for its end.
    struct Control {
        var cancel: (@Sendable () -> Void)?
        var cancelled = false
        var done = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Keep-alive and timeout bookkeeping, driven by the registry's shared ticker (no task per job).
    struct Timing {
        var lastActivity = ContinuousClock.now
        var lastPing = ContinuousClock.now
        var heartbeat = Duration.seconds(15)
        var idleLimit: Duration?
        var deadline: ContinuousClock.Instant?
        var interruption: Interruption?
    }

    struct State {
        var opening: [ByteBuffer] = []
        var reasoning = ""
        var content = ""
        var after: [ByteBuffer] = []
        var subscribers: [UInt64: FrameQueue] = [:]
        var nextSubscriber: UInt64 = 0
        var finished = false
        /// False while the question's message is not stored yet: frames are kept, and watchers get them (after the
        /// `start` frame) once it is.
        var published = true
        var stopRequested = false
        var discarded = false

        /// What a watcher that attaches now gets first.
        var replay: [ByteBuffer] {
            var frames = self.opening
            if !self.reasoning.isEmpty { frames.append(SSEFrame.reasoning(self.reasoning)) }
            if !self.content.isEmpty { frames.append(SSEFrame.content(self.content)) }
            frames.append(contentsOf: self.after)
            return frames
        }

        /// Keeps what late watchers need: opening and closing frames as sent, deltas as accumulated text.
        mutating func record(_ frame: ByteBuffer, as part: Part) {
            switch part {
                case .opening: self.opening.append(frame)
                case .reasoning(let text): self.reasoning += text
                case .content(let text): self.content += text
                case .other: self.after.append(frame)
            }
        }
    }

    /// What an emitted frame carries, so the replay for late watchers can be rebuilt compactly.
    enum Part {
        case opening
        case reasoning(String)
        case content(String)
        case other
    }

    /// A `userMessageId` of 0: the question is stored after the job starts, and ``publish(userMessageId:)`` says so.
    init(sessionId: Int, userId: Int, userMessageId: Int, clientMessageId: String?) {
        self.sessionId = sessionId
        self.userId = userId
        self.messageId = Mutex(MessageId(id: userMessageId))
        self.clientMessageId = clientMessageId
        if userMessageId == 0 { self.state.withLock { $0.published = false } }
    }

    /// The question's message is stored: the `start` frame goes first, and watchers get what was produced so far.
    func publish(userMessageId: Int) {
        let waiters = self.messageId.withLock { message -> [CheckedContinuation<Int?, Never>] in
            message.id = userMessageId
            defer { message.waiters = [] }
            return message.waiters
        }
        // Added under the lock, so that a frame emitted meanwhile comes after them; the watchers are woken after it.
        let subscribers = self.state.withLock { state -> [FrameQueue] in
            guard !state.published else { return [] }
            state.published = true
            state.opening.insert(SSEFrame.start(messageId: userMessageId), at: 0)
            let replay = state.replay
            for subscriber in state.subscribers.values {
                for frame in replay { subscriber.add(frame) }
            }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.wake() }
        for waiter in waiters { waiter.resume(returning: userMessageId) }
    }

    /// The question's message id once stored; nil when the job was discarded before that.
    func storedMessageId() async -> Int? {
        await withCheckedContinuation { continuation in
            let known = self.messageId.withLock { message -> Int?? in
                if message.id != 0 { return .some(message.id) }
                if message.abandoned { return .some(nil) }
                message.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    var isFinished: Bool { self.state.withLock { $0.finished } }

    /// The error the answer ended with, if it failed.
    var errorMessage: String? {
        get { self.failure.withLock { $0 } }
        set { self.failure.withLock { $0 = newValue } }
    }
    var stopRequested: Bool { self.state.withLock { $0.stopRequested } }
    /// Whether the answer's chat (or its messages) went away: nothing of it is to be saved.
    var isDiscarded: Bool { self.state.withLock { $0.discarded } }

    func emit(_ frame: ByteBuffer, as part: Part) {
        let subscribers = self.state.withLock { state -> [FrameQueue] in
            guard !state.finished else { return [] }
            state.record(frame, as: part)
            return state.published ? Array(state.subscribers.values) : []
        }
        for subscriber in subscribers { subscriber.push(frame) }
    }

    /// Emits several frames under one lock and as one buffer per watcher (one write per provider chunk).
    func emit(batch: [(ByteBuffer, Part)]) {
        guard !batch.isEmpty else { return }
        if batch.count == 1 {
            self.emit(batch[0].0, as: batch[0].1)
            return
        }
        var combined = ByteBuffer()
        combined.reserveCapacity(batch.reduce(0) { $0 + $1.0.readableBytes })
        for (frame, _) in batch { combined.writeImmutableBuffer(frame) }
        let subscribers = self.state.withLock { state -> [FrameQueue] in
            guard !state.finished else { return [] }
            for (frame, part) in batch { state.record(frame, as: part) }
            return state.published ? Array(state.subscribers.values) : []
        }
        for subscriber in subscribers { subscriber.push(combined) }
    }

    /// Sets the keep-alive interval and the idle and overall limits (nil idle limit: none).
    func configureTimers(heartbeat: Duration, idleLimit: Duration?, overall: Duration) {
        self.timing.withLock { timing in
            timing.heartbeat = heartbeat
            timing.idleLimit = idleLimit
            timing.deadline = .now + overall
            timing.lastActivity = .now
        }
    }

    /// Lifts the idle limit (a request whose answer arrives all at once); the overall limit stays.
    func suspendIdleLimit() {
        self.timing.withLock { $0.idleLimit = nil }
    }

    /// Records that the provider sent something.
    func touch() {
        self.timing.withLock { $0.lastActivity = .now }
    }

    var interruption: Interruption? { self.timing.withLock { $0.interruption } }

    /// One tick of the shared clock: sends a keep-alive when due and cancels the provider request when the
    /// provider has been silent too long or the answer ran out of time.
    func tick(now: ContinuousClock.Instant) {
        let (ping, cancel) = self.timing.withLock { timing -> (Bool, Bool) in
            var ping = false
            if timing.lastPing.duration(to: now) >= timing.heartbeat {
                timing.lastPing = now
                ping = true
            }
            guard timing.interruption == nil else { return (ping, false) }
            if let deadline = timing.deadline, now >= deadline {
                timing.interruption = .overall
            } else if let idle = timing.idleLimit, timing.lastActivity.duration(to: now) > idle {
                timing.interruption = .idle
            }
            return (ping, timing.interruption != nil)
        }
        if ping { self.broadcast(SSEFrame.ping) }
        if cancel { self.cancelRunner() }
    }

    /// Sends a frame to current watchers without recording it (keep-alive comments).
    func broadcast(_ frame: ByteBuffer) {
        let subscribers = self.state.withLock { $0.finished || !$0.published ? [] : Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.push(frame) }
    }

    /// Ends every watcher's stream; later watchers get the full replay and an immediate end.
    func finish() {
        let subscribers = self.state.withLock { state -> [FrameQueue] in
            state.finished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// How many clients may watch one answer at once (tabs, re-attaches); each holds a connection and a buffer.
    static let maxWatchers = 32

    /// One client's view of the answer: the frames so far, then the live ones until the job ends.
    struct Watcher: Sendable {
        let queue: FrameQueue
        let id: UInt64?
        let job: GenerationJob

        /// The next frames, as one buffer; nil at the end.
        func next() async -> ByteBuffer? {
            await self.queue.next()
        }

        /// The client is gone: the job stops sending to it.
        func end() {
            guard let id = self.id else { return }
            _ = self.job.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
    }

    /// The frames so far followed by the live ones; the stream ends when the job does. Nil when ``maxWatchers``
    /// clients are watching already.
    func watch() -> Watcher? {
        let queue = FrameQueue()
        let id = self.state.withLock { state -> UInt64?? in
            if !state.finished, state.subscribers.count >= Self.maxWatchers { return nil }
            if state.published {
                for frame in state.replay { queue.push(frame) }
            }
            guard !state.finished else { return .some(nil) }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = queue
            return .some(id)
        }
        guard let id else { return nil }
        if id == nil { queue.finish() }
        return Watcher(queue: queue, id: id, job: self)
    }

    /// How to cancel the step the job is in (its task, or the provider's connection while the answer streams).
    /// Once cancelled, every later step is cancelled as it starts.
    func setCanceller(_ cancel: @escaping @Sendable () -> Void) {
        let cancelled = self.control.withLock { control in
            control.cancel = cancel
            return control.cancelled
        }
        if cancelled { cancel() }
    }

    /// Asks the job to stop: the upstream request is cancelled at once and the partial answer kept.
    func requestStop() {
        self.state.withLock { $0.stopRequested = true }
        self.cancelRunner()
    }

    /// Stops the job for good because its chat is being deleted or cleared: the provider request is cancelled and
    /// nothing of the answer is saved.
    func discard() {
        self.state.withLock {
            $0.discarded = true
            $0.stopRequested = true
        }
        let waiters = self.messageId.withLock { message -> [CheckedContinuation<Int?, Never>] in
            message.abandoned = true
            defer { message.waiters = [] }
            return message.id == 0 ? message.waiters : []
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        self.cancelRunner()
    }

    /// Cancels the provider request without marking the answer as stopped by the user (timeouts).
    func cancelRunner() {
        let cancel = self.control.withLock { control in
            control.cancelled = true
            return control.cancel
        }
        cancel?()
    }

    /// Marks the job as over (answer saved, watchers closed) and wakes who waits for it.
    func markDone() {
        let waiters = self.control.withLock { control in
            control.done = true
            control.cancel = nil
            defer { control.waiters = [] }
            return control.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the job has finished, persisted and closed its watchers.
    func wait() async {
        await withCheckedContinuation { continuation in
            let done = self.control.withLock { control in
                if !control.done { control.waiters.append(continuation) }
                return control.done
            }
            if done { continuation.resume() }
        }
    }
}

/// The running jobs, at most one per session, and the one clock that drives their keep-alives and timeouts.
public final class GenerationRegistry: Sendable {
    private struct State {
        var jobs: [Int: GenerationJob] = [:]
        var ticker: Task<Void, Never>?
        var draining = false
    }

    private let state = Mutex(State())
    static let tickInterval = Duration.milliseconds(250)

    public init() {}

    func job(sessionId: Int) -> GenerationJob? {
        self.state.withLock { $0.jobs[sessionId] }
    }

    var running: [GenerationJob] { self.state.withLock { Array($0.jobs.values) } }
    var isDraining: Bool { self.state.withLock { $0.draining } }

    /// Registers a job unless the session already has one (returned instead) or the server is shutting down.
    func register(_ job: GenerationJob) -> GenerationJob? {
        self.state.withLock { state -> GenerationJob? in
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

    /// Ticks every running job until none is left (a later job starts a new ticker).
    private func runTicker() async {
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
        }
    }

    /// Refuses new jobs, lets running ones finish for up to `grace`, then stops the rest (their partial answers
    /// are saved) and waits for them to persist.
    public func drain(grace: Duration) async {
        self.state.withLock { $0.draining = true }
        let deadline = ContinuousClock.now + grace
        while !self.running.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = self.running
        for job in left { job.requestStop() }
        for job in left { await job.wait() }
    }
}
