import AIChatCore
import NIOCore

/// What has been produced so far for one answer.
struct AnswerAccumulator: Sendable {
    var content = ""
    var reasoning = ""
    var providerUsage: ProviderUsage?
    var finishReason: String?
    var sawEnd = false
    private var reasoningStarted: ContinuousClock.Instant?
    private var reasoningEnded: ContinuousClock.Instant?

    mutating func addReasoning(_ text: String) {
        if self.reasoningStarted == nil { self.reasoningStarted = .now }
        self.reasoning += text
    }

    mutating func addContent(_ text: String) {
        if self.reasoningStarted != nil, self.reasoningEnded == nil, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            self.reasoningEnded = .now
        }
        self.content += text
    }

    mutating func endReasoning() {
        if self.reasoningStarted != nil, self.reasoningEnded == nil { self.reasoningEnded = .now }
    }

    /// Whole seconds from the first reasoning text to its end (the closing tag or the first answer text).
    var reasoningDuration: Int {
        guard let start = self.reasoningStarted else { return 0 }
        let end = self.reasoningEnded ?? .now
        let elapsed = start.duration(to: end)
        return Int((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18).rounded())
    }

    /// Whether the user has seen any of the answer's text.
    var showsText: Bool { !self.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
}

/// Frames waiting to be sent to an answer's watchers. Content deltas are joined `chunkSize` at a time (the
/// `stream_delta_chunk_size` setting): fewer, larger events for slow clients; any other frame, and the end of the
/// answer, sends the joined text first so the order of events is kept.
struct Outbox {
    let chunkSize: Int
    private var frames: [(ByteBuffer, GenerationJob.Part)] = []
    private var pending = ""
    private var pendingCount = 0

    init(chunkSize: Int) {
        self.chunkSize = max(1, chunkSize)
    }

    mutating func content(_ text: String) {
        guard !text.isEmpty else { return }
        self.pending += text
        self.pendingCount += 1
        if self.pendingCount >= self.chunkSize { self.flushContent() }
    }

    mutating func append(_ frame: ByteBuffer, _ part: GenerationJob.Part) {
        self.flushContent()
        self.frames.append((frame, part))
    }

    mutating func flushContent() {
        defer { self.pendingCount = 0 }
        guard !self.pending.isEmpty else { return }
        self.frames.append((SSEFrame.content(self.pending), .content(self.pending)))
        self.pending = ""
    }

    /// The frames ready to send; joined content that has not reached `chunkSize` stays for later.
    mutating func take() -> [(ByteBuffer, GenerationJob.Part)] {
        defer { self.frames.removeAll(keepingCapacity: true) }
        return self.frames
    }
}

/// One answer's text on its way from the provider's events to the watchers: reasoning split from content (tags
/// included), deltas joined, and everything accumulated for saving.
struct AnswerStream {
    let settings: SystemSettings
    /// Bounds the memory one answer can take: a provider that keeps sending (a model stuck in a loop, a hostile
    /// server behind a personal connection) is cut off here, and what it sent so far is kept.
    let maxAnswerBytes: Int
    var accumulator = AnswerAccumulator()
    var splitter: ReasoningSplitter
    var outbox: Outbox
    var decoder: any ProviderStreamDecoder

    init(settings: SystemSettings, kind: ProviderKind, maxAnswerBytes: Int) {
        self.settings = settings
        self.maxAnswerBytes = maxAnswerBytes
        self.splitter = ReasoningSplitter(settings: settings)
        self.outbox = Outbox(chunkSize: settings.int(.streamDeltaChunkSize))
        self.decoder = ProviderStreamDecoders.make(for: kind)
    }

    /// One piece of the provider's body: decoded, turned into frames and sent to `job`'s watchers.
    mutating func consume(_ piece: ByteBuffer, job: GenerationJob) throws {
        job.touch()
        self.handle(try self.decoder.decode(piece))
        job.emit(batch: self.outbox.take())
        if self.accumulator.content.utf8.count + self.accumulator.reasoning.utf8.count > self.maxAnswerBytes {
            throw Self.answerTooLong(self.maxAnswerBytes)
        }
    }

    /// The end of the body: what the decoder and the splitter still hold is sent.
    mutating func complete(job: GenerationJob) throws {
        self.handle(try self.decoder.finish())
        self.flush(job: job)
    }

    /// Sends what the splitter and the outbox hold (the answer ended, or broke off).
    mutating func flush(job: GenerationJob) {
        for piece in self.splitter.finish() { self.queue(piece) }
        self.outbox.flushContent()
        job.emit(batch: self.outbox.take())
    }

    /// A whole answer that arrived at once (the request without streaming), as if streamed.
    mutating func receive(_ completion: ProviderCompletion, job: GenerationJob) {
        var events: [ProviderStreamEvent] = []
        if !completion.reasoning.isEmpty { events.append(.reasoning(completion.reasoning)) }
        events.append(.content(completion.text))
        if let reason = completion.finishReason { events.append(.finish(reason: reason)) }
        if let usage = completion.usage { events.append(.usage(usage)) }
        self.splitter = ReasoningSplitter(settings: self.settings)
        self.handle(events)
        self.flush(job: job)
    }

    static func answerTooLong(_ limit: Int) -> APIError {
        APIError(.badGateway, "The answer was cut off: it grew beyond \(limit / 1024) KB")
    }

    /// Turns provider events into frames (queued in the outbox) and updates the answer.
    mutating func handle(_ events: [ProviderStreamEvent]) {
        for event in events {
            switch event {
                case .reasoning(let text):
                    guard self.settings.bool(.reasoningEnabled), !text.isEmpty else { continue }
                    self.accumulator.addReasoning(text)
                    self.outbox.append(SSEFrame.reasoning(text), .reasoning(text))
                case .content(let text):
                    for piece in self.splitter.split(text) { self.queue(piece) }
                case .finish(let reason):
                    self.accumulator.finishReason = reason
                    self.outbox.append(SSEFrame.stop(reason: reason), .other)
                case .usage(let usage):
                    guard usage.isMeaningful else { continue }
                    self.accumulator.providerUsage = usage
                    if self.settings.bool(.usageEmit) {
                        let figures = UsageFigures(promptTokens: usage.prompt, completionTokens: usage.completion, totalTokens: usage.total)
                        self.outbox.append(SSEFrame.usage(figures), .other)
                    }
                case .done:
                    self.accumulator.sawEnd = true
                    self.outbox.append(SSEFrame.end, .other)
            }
        }
    }

    private mutating func queue(_ piece: ReasoningSplitter.Piece) {
        switch piece {
            case .reasoning(let text):
                self.accumulator.addReasoning(text)
                self.outbox.append(SSEFrame.reasoning(text), .reasoning(text))
            case .content(let text):
                self.accumulator.addContent(text)
                self.outbox.content(text)
            case .reasoningEnded:
                self.accumulator.endReasoning()
        }
    }
}
