import AIChatCore
import NIOCore
import Synchronization

/// One answer being generated: a server-side job that outlives the HTTP request that started it.
///
/// Any number of clients may watch it. A client that attaches late first receives what was produced so far
/// (the opening events, all reasoning and content as one event each, and the events after them), then the live
/// rest. Keep-alive `: ping` comments go to every watcher from the first moment, also while the provider has
/// not answered yet. All of a job's state sits behind one lock.
public final class GenerationJob: Sendable {
    public let sessionId: Int
    public let userId: Int
    /// The question's message id (stored before the job starts).
    public let userMessageId: Int
    public let clientMessageId: String?
    /// The model the answer is asked of (stored with its checkpoint).
    let model: String?
    private let state = Mutex(State())

    /// Why an answer was cut short by the server's clocks.
    enum Interruption: Sendable {
        case idle
        case overall
    }

    /// What an emitted frame carries, so the replay for late watchers can be rebuilt compactly.
    enum Part {
        case opening
        case reasoning(String)
        case content(String)
        case other
    }

    struct State {
        // What late watchers get, and who watches.
        var opening: [ByteBuffer] = []
        var reasoning = ""
        var content = ""
        var after: [ByteBuffer] = []
        var subscribers: [UInt64: FrameQueue] = [:]
        var nextSubscriber: UInt64 = 0
        var finished = false
        var errorMessage: String?

        // How it ends.
        var stopRequested = false
        var discarded = false
        /// Cancels the step the job is in; once cancelled, every later step is cancelled as it starts.
        var cancel: (@Sendable () -> Void)?
        var cancelled = false
        var done = false
        var doneWaiters: [CheckedContinuation<Void, Never>] = []

        // Keep-alives and time limits, driven by the registry's shared ticker (no task per job).
        var lastActivity = ContinuousClock.now
        var lastPing = ContinuousClock.now
        var heartbeat = Duration.seconds(15)
        var idleLimit: Duration?
        var deadline: ContinuousClock.Instant?
        var interruption: Interruption?

        // Checkpoints of the partial text (``AnswerCheckpoints``).
        var checkpointId: Int?
        var checkpointedLength = 0
        var saving = false

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

    init(sessionId: Int, userId: Int, userMessageId: Int, clientMessageId: String?, model: String? = nil) {
        self.sessionId = sessionId
        self.userId = userId
        self.userMessageId = userMessageId
        self.clientMessageId = clientMessageId
        self.model = model
    }

    /// The partial text to write as a checkpoint when it grew since the last one; nil otherwise, and once the answer is
    /// being saved or was discarded.
    func checkpointDue() -> AnswerCheckpoint? {
        self.state.withLock { state in
            guard !state.saving, !state.finished, !state.discarded else { return nil }
            let length = state.content.utf8.count + state.reasoning.utf8.count
            guard length > state.checkpointedLength else { return nil }
            state.checkpointedLength = length
            return AnswerCheckpoint(
                id: state.checkpointId, sessionId: self.sessionId, parentId: self.userMessageId, content: state.content,
                reasoning: state.reasoning, model: self.model
            )
        }
    }

    /// The checkpoint was written as row `id`.
    func checkpointed(id: Int) {
        self.state.withLock { $0.checkpointId = id }
    }

    /// No more checkpoints: the answer is being saved. Returns its checkpoint row, if one was written.
    func beginSaving() -> Int? {
        self.state.withLock { state in
            state.saving = true
            return state.checkpointId
        }
    }

    var isFinished: Bool { self.state.withLock { $0.finished } }

    /// The error the answer ended with, if it failed.
    var errorMessage: String? {
        get { self.state.withLock { $0.errorMessage } }
        set { self.state.withLock { $0.errorMessage = newValue } }
    }
    var stopRequested: Bool { self.state.withLock { $0.stopRequested } }
    /// Whether the answer's chat (or its messages) went away: nothing of it is to be saved.
    var isDiscarded: Bool { self.state.withLock { $0.discarded } }
    var interruption: Interruption? { self.state.withLock { $0.interruption } }

    func emit(_ frame: ByteBuffer, as part: Part) {
        self.emit(batch: [(frame, part)])
    }

    /// Emits several frames under one lock and as one buffer per watcher (one write per provider chunk).
    func emit(batch: [(ByteBuffer, Part)]) {
        guard let first = batch.first else { return }
        var combined = first.0
        if batch.count > 1 {
            combined = ByteBuffer()
            combined.reserveCapacity(batch.reduce(0) { $0 + $1.0.readableBytes })
            for (frame, _) in batch { combined.writeImmutableBuffer(frame) }
        }
        let subscribers = self.state.withLock { state -> [FrameQueue] in
            guard !state.finished else { return [] }
            for (frame, part) in batch { state.record(frame, as: part) }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.push(combined) }
    }

    /// Sets the keep-alive interval and the idle and overall limits (nil idle limit: none).
    func configureTimers(heartbeat: Duration, idleLimit: Duration?, overall: Duration) {
        self.state.withLock { state in
            state.heartbeat = heartbeat
            state.idleLimit = idleLimit
            state.deadline = .now + overall
            state.lastActivity = .now
        }
    }

    /// Lifts the idle limit (a request whose answer arrives all at once); the overall limit stays.
    func suspendIdleLimit() {
        self.state.withLock { $0.idleLimit = nil }
    }

    /// Records that the provider sent something.
    func touch() {
        self.state.withLock { $0.lastActivity = .now }
    }

    /// One tick of the shared clock: sends a keep-alive when due and cancels the provider request when the
    /// provider has been silent too long or the answer ran out of time.
    func tick(now: ContinuousClock.Instant) {
        let (subscribers, cancel) = self.state.withLock { state -> ([FrameQueue], (@Sendable () -> Void)?) in
            var ping: [FrameQueue] = []
            if state.lastPing.duration(to: now) >= state.heartbeat, !state.finished {
                state.lastPing = now
                ping = Array(state.subscribers.values)
            }
            guard state.interruption == nil else { return (ping, nil) }
            if let deadline = state.deadline, now >= deadline {
                state.interruption = .overall
            } else if let idle = state.idleLimit, state.lastActivity.duration(to: now) > idle {
                state.interruption = .idle
            } else {
                return (ping, nil)
            }
            state.cancelled = true
            return (ping, state.cancel)
        }
        for subscriber in subscribers { subscriber.push(SSEFrame.ping) }
        cancel?()
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
            for frame in state.replay { queue.push(frame) }
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

    /// How to cancel the step the job is in. Once cancelled, every later step is cancelled as it starts.
    func setCanceller(_ cancel: @escaping @Sendable () -> Void) {
        let cancelled = self.state.withLock { state in
            state.cancel = cancel
            return state.cancelled
        }
        if cancelled { cancel() }
    }

    /// Asks the job to stop: the upstream request is cancelled at once and the partial answer kept.
    func requestStop() {
        self.cancelRunner { $0.stopRequested = true }
    }

    /// Stops the job for good because its chat is being deleted or cleared: the provider request is cancelled and
    /// nothing of the answer is saved.
    func discard() {
        self.cancelRunner {
            $0.discarded = true
            $0.stopRequested = true
        }
    }

    /// Cancels the provider request (after `mark` records why).
    private func cancelRunner(_ mark: (inout State) -> Void) {
        let cancel = self.state.withLock { state in
            mark(&state)
            state.cancelled = true
            return state.cancel
        }
        cancel?()
    }

    /// Marks the job as over (answer saved, watchers closed) and wakes who waits for it.
    func markDone() {
        let waiters = self.state.withLock { state in
            state.done = true
            state.cancel = nil
            defer { state.doneWaiters = [] }
            return state.doneWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the job has finished, persisted and closed its watchers.
    func wait() async {
        await withCheckedContinuation { continuation in
            let done = self.state.withLock { state in
                if !state.done { state.doneWaiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}
