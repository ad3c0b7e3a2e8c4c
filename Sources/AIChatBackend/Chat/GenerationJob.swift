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
    public let userMessageId: Int
    public let clientMessageId: String?
    private let state = Mutex(State())
    private let runner = Mutex<Task<Void, Never>?>(nil)
    private let failure = Mutex<String?>(nil)

    struct State {
        var opening: [ByteBuffer] = []
        var reasoning = ""
        var content = ""
        var after: [ByteBuffer] = []
        var subscribers: [UInt64: AsyncStream<ByteBuffer>.Continuation] = [:]
        var nextSubscriber: UInt64 = 0
        var finished = false
        var stopRequested = false
    }

    /// What an emitted frame carries, so the replay for late watchers can be rebuilt compactly.
    enum Part {
        case opening
        case reasoning(String)
        case content(String)
        case other
    }

    init(sessionId: Int, userId: Int, userMessageId: Int, clientMessageId: String?) {
        self.sessionId = sessionId
        self.userId = userId
        self.userMessageId = userMessageId
        self.clientMessageId = clientMessageId
    }

    var isFinished: Bool { self.state.withLock { $0.finished } }

    /// The error the answer ended with, if it failed.
    var errorMessage: String? {
        get { self.failure.withLock { $0 } }
        set { self.failure.withLock { $0 = newValue } }
    }
    var stopRequested: Bool { self.state.withLock { $0.stopRequested } }

    func emit(_ frame: ByteBuffer, as part: Part) {
        let subscribers = self.state.withLock { state -> [AsyncStream<ByteBuffer>.Continuation] in
            guard !state.finished else { return [] }
            switch part {
                case .opening: state.opening.append(frame)
                case .reasoning(let text): state.reasoning += text
                case .content(let text): state.content += text
                case .other: state.after.append(frame)
            }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(frame) }
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
        let subscribers = self.state.withLock { state -> [AsyncStream<ByteBuffer>.Continuation] in
            guard !state.finished else { return [] }
            for (frame, part) in batch {
                switch part {
                    case .opening: state.opening.append(frame)
                    case .reasoning(let text): state.reasoning += text
                    case .content(let text): state.content += text
                    case .other: state.after.append(frame)
                }
            }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(combined) }
    }

    /// Sends a frame to current watchers without recording it (keep-alive comments).
    func broadcast(_ frame: ByteBuffer) {
        let subscribers = self.state.withLock { $0.finished ? [] : Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(frame) }
    }

    /// Ends every watcher's stream; later watchers get the full replay and an immediate end.
    func finish() {
        let subscribers = self.state.withLock { state -> [AsyncStream<ByteBuffer>.Continuation] in
            state.finished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// The frames so far followed by the live ones; the stream ends when the job does.
    func watch() -> AsyncStream<ByteBuffer> {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let id = self.state.withLock { state -> UInt64? in
            for frame in state.opening { continuation.yield(frame) }
            if !state.reasoning.isEmpty { continuation.yield(SSEFrame.reasoning(state.reasoning)) }
            if !state.content.isEmpty { continuation.yield(SSEFrame.content(state.content)) }
            for frame in state.after { continuation.yield(frame) }
            guard !state.finished else { return nil }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func setRunner(_ task: Task<Void, Never>) {
        self.runner.withLock { $0 = task }
    }

    /// Asks the job to stop: the upstream request is cancelled at once and the partial answer kept.
    func requestStop() {
        self.state.withLock { $0.stopRequested = true }
        self.runner.withLock { $0 }?.cancel()
    }

    /// Cancels the provider request without marking the answer as stopped by the user (timeouts).
    func cancelRunner() {
        self.runner.withLock { $0 }?.cancel()
    }

    /// Waits until the job has finished, persisted and closed its watchers.
    func wait() async {
        await self.runner.withLock { $0 }?.value
    }
}

/// The running jobs, at most one per session.
public final class GenerationRegistry: Sendable {
    private let jobs = Mutex<[Int: GenerationJob]>([:])
    private let draining = Mutex(false)

    public init() {}

    func job(sessionId: Int) -> GenerationJob? {
        self.jobs.withLock { $0[sessionId] }
    }

    var running: [GenerationJob] { self.jobs.withLock { Array($0.values) } }
    var isDraining: Bool { self.draining.withLock { $0 } }

    /// Registers a job unless the session already has one (returned instead) or the server is shutting down.
    func register(_ job: GenerationJob) -> GenerationJob? {
        if self.isDraining { return nil }
        return self.jobs.withLock { jobs in
            if let existing = jobs[job.sessionId] { return existing }
            jobs[job.sessionId] = job
            return job
        }
    }

    func remove(_ job: GenerationJob) {
        self.jobs.withLock { jobs in
            if jobs[job.sessionId] === job { jobs[job.sessionId] = nil }
        }
    }

    /// Refuses new jobs, lets running ones finish for up to `grace`, then stops the rest (their partial answers
    /// are saved) and waits for them to persist.
    public func drain(grace: Duration) async {
        self.draining.withLock { $0 = true }
        let deadline = ContinuousClock.now + grace
        while !self.running.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = self.running
        for job in left { job.requestStop() }
        for job in left { await job.wait() }
    }
}
