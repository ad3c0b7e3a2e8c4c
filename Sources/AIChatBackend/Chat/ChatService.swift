import AIChatCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// What one answer is generated from, decided before the job starts.
struct GenerationPlan: Sendable {
    var user: User
    var session: ChatSession
    var connection: Connection
    var userMessage: ChatMessageRecord
    var reasoningEnabled: Bool?
    var reasoningEffort: ReasoningEffort?
    var ollamaThink: Bool?
    var saveReasoning: Bool?
    /// The history and token budget when they were read while the user message was being stored.
    var preloaded: (history: [ChatMessageRecord], limit: Int)?
    /// The title this turn gave a new conversation from its first message; the model may replace it.
    var derivedTitle: String?
    /// The event loop of the connection that asked for the answer: the answer is opened there, so that its
    /// frames reach that connection without a hand-off between threads.
    var eventLoop: (any EventLoop)?
}

/// Runs answers as server-side jobs: history and budget, the provider stream, reasoning and usage accounting,
/// persistence, stop, timeouts and errors.
final class ChatService: Sendable {
    let sessions: any SessionRepository
    let messages: any MessageRepository
    let gateway: ProviderGateway
    let settings: SystemSettingsService
    let contextLimits: ContextLimits
    let registry: GenerationRegistry
    let logger: Logger
    /// Bounds the memory one answer can take: a provider that keeps sending (a model stuck in a loop, a hostile
    /// server behind a personal connection) is cut off here, and what it sent so far is kept.
    let maxAnswerBytes: Int

    init(
        sessions: any SessionRepository, messages: any MessageRepository, gateway: ProviderGateway,
        settings: SystemSettingsService, contextLimits: ContextLimits, registry: GenerationRegistry, maxAnswerBytes: Int = 8 << 20,
        logger: Logger
    ) {
        self.maxAnswerBytes = maxAnswerBytes
        self.sessions = sessions
        self.messages = messages
        self.gateway = gateway
        self.settings = settings
        self.contextLimits = contextLimits
        self.registry = registry
        self.logger = logger
    }

    static func usable(_ connection: Connection?, session: ChatSession) throws -> Connection {
        guard let connection, connection.id == session.connectionId, let model = session.modelRawId, !model.isEmpty else {
            throw APIError.badRequest("Session model not selected")
        }
        guard connection.enable else { throw APIError.badRequest("The session's connection is disabled") }
        return connection
    }

    /// Starts a job for `plan`, or returns the job already running in that session.
    func start(_ plan: GenerationPlan) throws -> GenerationJob {
        try self.begin(plan).job
    }

    /// Starts a job for `plan` (`started` true), or returns the job already running in that session. A plan whose
    /// question is not stored yet (id 0) starts a job that keeps its frames until ``GenerationJob/publish(userMessageId:)``.
    func begin(_ plan: GenerationPlan) throws -> (job: GenerationJob, started: Bool) {
        let job = GenerationJob(
            sessionId: plan.session.id, userId: plan.user.id, userMessageId: plan.userMessage.id, clientMessageId: plan.userMessage.clientMessageId
        )
        guard let registered = self.registry.register(job) else {
            throw APIError(.serviceUnavailable, "The server is restarting; try again in a moment")
        }
        guard registered === job else { return (registered, false) }
        // Detached: the job copies none of the request's task-local values (it outlives the request anyway).
        let answer = AnswerRun(plan: plan, job: job, service: self)
        // On an event loop: the request goes out on a connection of that loop without a hand-off to it.
        let executor = plan.eventLoop.map(EventLoopTaskExecutor.on) ?? EventLoopTaskExecutor.next()
        let task = Task.detached(executorPreference: executor) {
            await self.launch(answer)
        }
        job.setCanceller { task.cancel() }
        return (job, true)
    }

    /// What the job knows once the provider has answered (or failed to): the prompt's size and budget, and the
    /// response whose body carries the stream.
    struct Opening: Sendable {
        var promptTokens = 0
        var limit = 0
        var response: UpstreamResponse?
        var failure: (any Error)?
        /// The request as built, kept for a non-stream retry.
        var endpoint: ProviderEndpoint?
        var messages: [ChatMessage] = []
        var options: GenerationOptions?
        var secrets: [String] = []
    }

    /// Reads settings, history and budget, sends the opening frames, readies the run to receive the answer and
    /// sends the request to the provider; a successful response's body streams into the run from its first byte.
    private func open(_ run: AnswerRun) async -> Opening {
        let (plan, job) = (run.plan, run.job)
        var opening = Opening()
        do {
            let current = try await self.settings.current()
            run.settings = current
            let idle = current.int(.providerMaxIdleMs)
            job.configureTimers(
                heartbeat: .milliseconds(max(1000, current.int(.sseHeartbeatIntervalMs))),
                idleLimit: idle > 0 ? .milliseconds(idle) : nil,
                overall: .milliseconds(current.int(.providerTimeoutMs))
            )
            let history: [ChatMessageRecord]
            let limit: Int
            if let preloaded = plan.preloaded {
                (history, limit) = preloaded
            } else {
                async let budget = self.contextLimits.limit(for: plan.user, session: plan.session)
                history = try await self.history(for: plan.session)
                limit = try await budget
            }
            opening.limit = limit
            let (messages, prompt) = self.conversation(plan, history: history, limit: limit)
            opening.promptTokens = prompt
            // One write to the watchers for the opening frames (`start` comes with the stored message when the
            // answer began before it).
            var frames: [(ByteBuffer, GenerationJob.Part)] = []
            if plan.userMessage.id != 0 { frames.append((SSEFrame.start(messageId: plan.userMessage.id), .opening)) }
            if current.bool(.usageEmit), !current.bool(.usageProviderOnly) {
                let usage = UsageFigures(promptTokens: prompt, totalTokens: prompt, contextLimit: limit, contextRemaining: max(0, limit - prompt))
                frames.append((SSEFrame.usage(usage), .opening))
            }
            job.emit(batch: frames)
            let options = Self.options(plan, settings: current)
            let endpoint = try self.gateway.endpoint(for: plan.connection)
            let request = try ProviderRequestBuilder(endpoint).chat(messages, options: options, stream: true)
            let secrets = [endpoint.apiKey, endpoint.systemOAuthToken, endpoint.azureAccessToken].compactMap { $0 }
            (opening.endpoint, opening.messages, opening.options, opening.secrets) = (endpoint, messages, options, secrets)
            run.splitter = ReasoningSplitter(settings: current)
            run.outbox = Outbox(chunkSize: current.int(.streamDeltaChunkSize))
            job.touch()
            opening.response = try await self.gateway.executeWithRetry(
                request, guarded: !plan.connection.isSystem, timeout: .milliseconds(current.int(.providerTimeoutMs)), secrets: secrets, sink: run
            )
        } catch {
            opening.failure = error
        }
        return opening
    }

    /// One answer's state while its job runs, on the heap. A job runs in three steps: a task opens the request;
    /// the provider's body then streams into the run itself (an ``UpstreamBodySink``: each piece is decoded and
    /// sent to the watchers on the connection's event loop, with no task waiting while the answer streams); a
    /// second task saves the answer. Used by one step at a time.
    final class AnswerRun: UpstreamBodySink, @unchecked Sendable {
        private(set) var plan: GenerationPlan
        let job: GenerationJob
        let service: ChatService
        var opening = Opening()
        /// The settings the answer was opened with (nil until they were read).
        var settings: SystemSettings?
        var accumulator = AnswerAccumulator()
        var splitter = ReasoningSplitter.passThrough
        var outbox = Outbox(chunkSize: 1)
        var decoder: any ProviderStreamDecoder

        init(plan: GenerationPlan, job: GenerationJob, service: ChatService) {
            self.plan = plan
            self.job = job
            self.service = service
            self.decoder = ProviderStreamDecoders.make(for: plan.connection.kind ?? .openai)
        }

        func questionStored(id: Int) {
            self.plan.userMessage.id = id
        }

        /// Drops what only the request needed (the history read before the message), which would otherwise stay
        /// in memory for as long as the answer runs.
        func forgetRequestDetails() {
            self.plan.preloaded = nil
        }

        /// Sends what the outbox holds to the watchers.
        func send() {
            self.job.emit(batch: self.outbox.take())
        }

        func receive(_ piece: ByteBuffer) -> UpstreamSinkDecision {
            guard let settings = self.settings else {
                self.ended(CancellationError())
                return .stop
            }
            do {
                try self.service.consume(piece, run: self, settings: settings)
                return .more
            } catch {
                self.ended(error)
                return .stop
            }
        }

        func finish(_ error: (any Error)?) {
            self.ended(error)
        }

        /// Who runs the last step: the body may end before the opening task is done with the run, so whichever
        /// of the two comes second starts it, once.
        private struct Stage {
            var launched = false
            var ended: (any Error)??
            var concluded = false
        }

        private let stage = Mutex(Stage())

        /// The body ended (nil) or broke off.
        private func ended(_ failure: (any Error)?) {
            let start = self.stage.withLock { stage -> Bool in
                guard !stage.concluded else { return false }
                guard stage.launched else {
                    stage.ended = .some(failure)
                    return false
                }
                stage.concluded = true
                return true
            }
            if start { self.service.conclude(self, failure: failure) }
        }

        /// The opening task is done with the run; `failure` when no body streams into it.
        func launched(failure: (any Error)?) {
            let outcome = self.stage.withLock { stage -> (any Error)?? in
                stage.launched = true
                guard !stage.concluded else { return nil }
                if let failure {
                    stage.concluded = true
                    return .some(failure)
                }
                if let ended = stage.ended {
                    stage.concluded = true
                    return .some(ended)
                }
                return nil
            }
            if let outcome { self.service.conclude(self, failure: outcome) }
        }
    }

    /// Opens the request; the provider's body streams into the run meanwhile. A failure to open goes straight to
    /// saving.
    private func launch(_ run: AnswerRun) async {
        var opening = await self.open(run)
        let body = opening.response?.body
        opening.response = nil
        run.opening = opening
        run.forgetRequestDetails()
        // A stop, a timeout or a deleted chat closes the provider's connection from now on.
        if let body { run.job.setCanceller { body.cancel() } }
        run.launched(failure: body == nil ? (opening.failure ?? CancellationError()) : nil)
    }

    /// The last step, in a task of its own: the body ended (`failure` nil) and the answer is completed, or its
    /// failure is handled; then the answer is saved.
    fileprivate func conclude(_ run: AnswerRun, failure: (any Error)?) {
        let task = Task.detached {
            // An answer that began before its question was stored is saved under it once it is.
            if run.plan.userMessage.id == 0, let id = await run.job.storedMessageId() {
                run.questionStored(id: id)
            }
            if let failure {
                await self.finish(after: failure, run)
            } else if let settings = run.settings {
                do {
                    try await self.complete(run, settings: settings)
                } catch {
                    await self.finish(after: error, run)
                }
            } else {
                await self.finish(after: CancellationError(), run)
            }
            self.close(run)
        }
        run.job.setCanceller { task.cancel() }
    }

    /// The job is over: later sends start a new one.
    private func close(_ run: AnswerRun) {
        self.registry.remove(run.job)
        run.job.markDone()
    }

    /// One piece of the provider's body: decoded, turned into frames and sent.
    func consume(_ chunk: ByteBuffer, run: AnswerRun, settings: SystemSettings) throws {
        run.job.touch()
        let events = try run.decoder.decode(chunk)
        self.handle(events, accumulator: &run.accumulator, splitter: &run.splitter, settings: settings, outbox: &run.outbox)
        run.send()
        if run.accumulator.content.utf8.count + run.accumulator.reasoning.utf8.count > self.maxAnswerBytes {
            throw Self.answerTooLong(self.maxAnswerBytes)
        }
    }

    /// The end of the body: what the decoder and extractor still hold is sent, the answer saved.
    private func complete(_ run: AnswerRun, settings current: SystemSettings) async throws {
        let tail = try run.decoder.finish()
        self.handle(tail, accumulator: &run.accumulator, splitter: &run.splitter, settings: current, outbox: &run.outbox)
        self.flush(&run.splitter, accumulator: &run.accumulator, outbox: &run.outbox)
        run.send()
        await self.persistAndClose(
            run.plan, job: run.job, answer: run.accumulator, status: nil, settings: current, promptTokens: run.opening.promptTokens,
            limit: run.opening.limit
        )
        self.titleByModel(run.plan, answer: run.accumulator, settings: current, opening: run.opening)
    }

    /// After a failure: one request without streaming when that may help, otherwise the partial answer saved as
    /// stopped or failed, with the reason sent to the watchers. Kept out of line: it runs only when something failed.
    @inline(never)
    private func finish(after error: any Error, _ run: AnswerRun) async {
        let (plan, job) = (run.plan, run.job)
        let settings = run.settings
        let promptTokens = run.opening.promptTokens
        let limit = run.opening.limit
        self.flush(&run.splitter, accumulator: &run.accumulator, outbox: &run.outbox)
        run.send()
        if Self.mayRetryWithoutStreaming(after: error, job: job, answer: run.accumulator), let current = settings,
            let completion = await self.retryWithoutStreaming(plan, job: job, opening: run.opening, settings: current)
        {
            var events: [ProviderStreamEvent] = []
            if !completion.reasoning.isEmpty { events.append(.reasoning(completion.reasoning)) }
            events.append(.content(completion.text))
            if let reason = completion.finishReason { events.append(.finish(reason: reason)) }
            if let usage = completion.usage { events.append(.usage(usage)) }
            run.splitter = ReasoningSplitter(settings: current)
            self.handle(events, accumulator: &run.accumulator, splitter: &run.splitter, settings: current, outbox: &run.outbox)
            self.flush(&run.splitter, accumulator: &run.accumulator, outbox: &run.outbox)
            run.send()
            await self.persistAndClose(plan, job: job, answer: run.accumulator, status: nil, settings: current, promptTokens: promptTokens, limit: limit)
            return
        }
        let reason: String
        var status: MessageStatus = .error
        if job.stopRequested {
            reason = "cancelled"
            status = .stopped
        } else if let interruption = job.interruption {
            reason = interruption == .idle ? "The AI provider stopped sending data" : "The answer took longer than the time limit"
        } else if let failure = error as? ProviderFailure {
            reason = failure.publicMessage
        } else if let failure = error as? ProviderError {
            reason = failure.publicMessage
        } else if let apiError = error as? APIError {
            reason = apiError.message
        } else if error is CancellationError {
            reason = "cancelled"
            status = .stopped
        } else if let broken = Self.brokenResponseReason(error) {
            self.logger.warning("answer in session \(plan.session.id) broke off: \(error)")
            reason = broken
        } else {
            self.logger.error("generation in session \(plan.session.id) failed: \(String(reflecting: error))")
            reason = "The answer could not be generated"
        }
        if status == .stopped {
            job.emit(SSEFrame.stop(reason: "cancelled"), as: .other)
        }
        await self.persistAndClose(
            plan, job: job, answer: run.accumulator, status: status, settings: settings, promptTokens: promptTokens, limit: limit,
            errorMessage: status == .error ? reason : nil
        )
    }

    /// What to tell the user when the provider's response broke mid-way (malformed HTTP, connection closed early):
    /// the provider's fault, worth naming instead of a generic failure.
    static func brokenResponseReason(_ error: any Error) -> String? {
        let closedEarly = "The connection to the AI provider closed before the answer was complete"
        if let parser = error as? HTTPParserError {
            return parser == .invalidEOFState ? closedEarly : "The AI provider sent a malformed response"
        }
        if let upstream = error as? UpstreamError, upstream == .connectionClosed {
            return closedEarly
        }
        return nil
    }

    static func answerTooLong(_ limit: Int) -> APIError {
        APIError(.badGateway, "The answer was cut off: it grew beyond \(limit / 1024) KB")
    }

    /// Whether a failed streamed answer is asked for once more without streaming (for servers that cannot stream,
    /// or whose stream broke before it showed anything): nothing visible was produced yet, the user did not stop
    /// it, the server's clocks did not cut it off, and the provider did not refuse the caller (key, permission,
    /// rate limit), which a second request would not change.
    static func mayRetryWithoutStreaming(after error: any Error, job: GenerationJob, answer: AnswerAccumulator) -> Bool {
        guard answer.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, !job.stopRequested, job.interruption == nil else {
            return false
        }
        switch error {
            case let failure as ProviderFailure: return ![401, 403, 429].contains(failure.status ?? 0)
            case let failure as ProviderError:
                if case .upstream(let status, _) = failure, let status, [401, 403, 429].contains(status) { return false }
                return true
            default: return false
        }
    }

    /// The same request with `stream: false`, bound by the overall time limit only (nothing arrives until the whole
    /// answer does, so the idle limit does not apply). Nil when it fails too or yields no text.
    private func retryWithoutStreaming(
        _ plan: GenerationPlan, job: GenerationJob, opening: Opening, settings: SystemSettings
    ) async -> ProviderCompletion? {
        guard let endpoint = opening.endpoint, let options = opening.options else { return nil }
        job.suspendIdleLimit()
        do {
            let request = try ProviderRequestBuilder(endpoint).chat(opening.messages, options: options, stream: false)
            let response = try await self.gateway.execute(
                request, guarded: !plan.connection.isSystem, timeout: .milliseconds(settings.int(.providerTimeoutMs)), secrets: opening.secrets
            )
            // The JSON around an answer (escapes included) stays within a few times the answer's size.
            let body = try await response.body.collect(upTo: 4 * self.maxAnswerBytes + (64 << 10))
            let completion = try ProviderResponseParser.completion(kind: plan.connection.kind ?? .openai, body: Data(buffer: body))
            guard !completion.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                completion.text.utf8.count + completion.reasoning.utf8.count <= self.maxAnswerBytes
            else { return nil }
            self.logger.info("session \(plan.session.id): the streamed request failed; answered without streaming")
            return completion
        } catch {
            return nil
        }
    }

    /// After the first answer of a new conversation, asks the model for a short title (when `title_by_model` is on)
    /// and sets it unless the user renamed the conversation meanwhile. Runs on its own; a failure keeps the title
    /// taken from the first message.
    func titleByModel(_ plan: GenerationPlan, answer: AnswerAccumulator, settings: SystemSettings, opening: Opening) {
        guard settings.bool(.titleByModel), let derived = plan.derivedTitle, let endpoint = opening.endpoint, let options = opening.options else { return }
        let question = String(plan.userMessage.content.prefix(1500))
        let reply = String(answer.content.prefix(1500))
        guard !reply.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        Task { [gateway = self.gateway, sessions = self.sessions, messageStore = self.messages, logger = self.logger] in
            let messages = [
                ChatMessage(role: .system, text: Self.titleInstruction),
                ChatMessage(role: .user, text: "User: \(question)\n\nAssistant: \(reply)"),
            ]
            var titleOptions = options
            titleOptions.reasoningEnabled = false
            do {
                let request = try ProviderRequestBuilder(endpoint).chat(messages, options: titleOptions, stream: false)
                let response = try await gateway.execute(
                    request, guarded: !plan.connection.isSystem, timeout: .seconds(60), secrets: opening.secrets
                )
                let body = try await response.body.collect(upTo: 1 << 20)
                let completion = try ProviderResponseParser.completion(kind: plan.connection.kind ?? .openai, body: Data(buffer: body))
                // The title costs tokens too: counted with the conversation's usage, apart from its answers.
                if settings.bool(.usageEmit) {
                    let prompt = completion.usage?.prompt ?? messages.reduce(0) { $0 + TokenEstimator.count($1.text) }
                    let output = completion.usage?.completion ?? TokenEstimator.count(completion.text)
                    try? await messageStore.insertUsage(
                        NewUsage(
                            sessionId: plan.session.id, messageId: nil, model: plan.session.modelRawId ?? "unknown", provider: plan.connection.host,
                            promptTokens: prompt, completionTokens: output, totalTokens: completion.usage?.total ?? prompt + output,
                            contextLimit: nil, kind: "title"
                        )
                    )
                }
                guard let title = Self.cleanTitle(completion.text) else { return }
                _ = try await sessions.replaceTitle(id: plan.session.id, userId: plan.user.id, expected: derived, with: title)
            } catch {
                logger.info("session \(plan.session.id): no title from the model (\(error))")
            }
        }
    }

    static let titleInstruction = """
        Write a title for the conversation below: at most 8 words, in the language the user wrote in, \
        without quotation marks and without a full stop. Reply with the title only.
        """

    /// The model's title as one short line: reasoning tags, Markdown markers and quotes removed, at most 50 characters.
    static func cleanTitle(_ text: String) -> String? {
        var extractor = ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags)
        var visible = extractor.split(text).compactMap { if case .content(let part) = $0 { part } else { nil } }.joined()
        visible += extractor.finish().compactMap { if case .content(let part) = $0 { part } else { nil } }.joined()
        let lines = visible.withoutNulCharacters.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let line = lines.first(where: { !$0.isEmpty }) else { return nil }
        var title = line.replacingOccurrences(of: #"^(title|标题)\s*[:：]\s*"#, with: "", options: [.regularExpression, .caseInsensitive])
        title = title.trimmingCharacters(in: CharacterSet(charactersIn: "#*_`\"'“”‘’「」《》 .。"))
        title = String(title.prefix(50)).trimmingCharacters(in: .whitespaces)
        return title.isEmpty ? nil : title
    }

    /// The provider messages: the session's system prompt, then the history that fits the budget, then the
    /// current turn (always kept, with its images).
    func conversation(_ plan: GenerationPlan, history: [ChatMessageRecord], limit: Int) -> ([ChatMessage], Int) {
        // Conversation order: an answer stands right after its question (`parentId`), also a version regenerated
        // later; only what comes before the current question is history.
        // (A question not stored yet comes after all of the history, which was read before it.)
        let earlier = history.filter { (plan.userMessage.id == 0 || ($0.parentId ?? $0.id) < plan.userMessage.id) && !$0.content.isEmpty }
        var turns = earlier.map { (role: $0.role, text: $0.content, images: [ImageAttachment]()) }
        turns.append((.user, plan.userMessage.content, plan.userMessage.images.map { ImageAttachment(mime: $0.mime, base64Data: $0.data) }))
        let systemCost = plan.session.systemPrompt.map { PromptBudget.cost(role: "system", content: $0) } ?? 0
        let (kept, used) = PromptBudget.truncate(turns, limit: max(0, limit - systemCost), role: { $0.role.rawValue }, content: { $0.text })
        var messages: [ChatMessage] = []
        if let system = plan.session.systemPrompt, !system.isEmpty { messages.append(ChatMessage(role: .system, text: system)) }
        for turn in kept {
            let role: ChatMessage.Role = turn.role == .assistant ? .assistant : (turn.role == .system ? .system : .user)
            messages.append(ChatMessage(role: role, text: turn.text, images: turn.images))
        }
        return (messages, used + systemCost)
    }

    /// How many of the newest messages are read for the prompt; older ones cannot fit any context limit in use.
    static let historyLimit = 1000

    /// The newest part of the conversation that can matter for the budget.
    func history(for session: ChatSession) async throws -> [ChatMessageRecord] {
        try await self.messages.history(sessionId: session.id, excluding: nil, limit: Self.historyLimit)
    }

    /// Request → session → system setting precedence for the reasoning parameters.
    static func options(_ plan: GenerationPlan, settings: SystemSettings) -> GenerationOptions {
        let enabled = plan.reasoningEnabled ?? plan.session.reasoningEnabled ?? settings.bool(.reasoningEnabled)
        let effort = plan.reasoningEffort ?? plan.session.reasoningEffort ?? ReasoningEffort(rawValue: settings.string(.openaiReasoningEffort))
        let think = plan.ollamaThink ?? plan.session.ollamaThink ?? settings.bool(.ollamaThink)
        return GenerationOptions(
            model: plan.session.modelRawId ?? "", temperature: nil, reasoningEnabled: enabled, reasoningEffort: effort, ollamaThink: think
        )
    }

    /// Turns provider events into frames (queued in `outbox`) and updates the answer.
    func handle(
        _ events: [ProviderStreamEvent], accumulator: inout AnswerAccumulator, splitter: inout ReasoningSplitter, settings: SystemSettings,
        outbox: inout Outbox
    ) {
        for event in events {
            switch event {
                case .reasoning(let text):
                    guard settings.bool(.reasoningEnabled), !text.isEmpty else { continue }
                    accumulator.addReasoning(text)
                    outbox.append(SSEFrame.reasoning(text), .reasoning(text))
                case .content(let text):
                    for piece in splitter.split(text) { Self.queue(piece, accumulator: &accumulator, outbox: &outbox) }
                case .finish(let reason):
                    accumulator.finishReason = reason
                    outbox.append(SSEFrame.stop(reason: reason), .other)
                case .usage(let usage):
                    guard usage.isMeaningful else { continue }
                    accumulator.providerUsage = usage
                    if settings.bool(.usageEmit) {
                        let figures = UsageFigures(promptTokens: usage.prompt, completionTokens: usage.completion, totalTokens: usage.total)
                        outbox.append(SSEFrame.usage(figures), .other)
                    }
                case .done:
                    accumulator.sawEnd = true
                    outbox.append(SSEFrame.end, .other)
            }
        }
    }

    static func queue(_ piece: ReasoningSplitter.Piece, accumulator: inout AnswerAccumulator, outbox: inout Outbox) {
        switch piece {
            case .reasoning(let text):
                accumulator.addReasoning(text)
                outbox.append(SSEFrame.reasoning(text), .reasoning(text))
            case .content(let text):
                accumulator.addContent(text)
                outbox.content(text)
            case .reasoningEnded:
                accumulator.endReasoning()
        }
    }

    func flush(_ splitter: inout ReasoningSplitter, accumulator: inout AnswerAccumulator, outbox: inout Outbox) {
        for piece in splitter.finish() { Self.queue(piece, accumulator: &accumulator, outbox: &outbox) }
        outbox.flushContent()
    }

    /// Saves what was produced (also when stopped or cut off), records usage, sends the closing events and ends
    /// every watcher's stream — in that order, so a client that reloads after the stream closed finds the answer.
    func persistAndClose(
        _ plan: GenerationPlan, job: GenerationJob, answer: AnswerAccumulator, status: MessageStatus?, settings: SystemSettings?,
        promptTokens: Int, limit: Int, errorMessage: String? = nil
    ) async {
        let closing = Task { [messages = self.messages, logger = self.logger] in
            var frames: [ByteBuffer] = []
            // A provider may send U+0000, which PostgreSQL cannot store.
            let content = answer.content.withoutNulCharacters.trimmingCharacters(in: .whitespacesAndNewlines)
            let reasoning = answer.reasoning.withoutNulCharacters.trimmingCharacters(in: .whitespacesAndNewlines)
            let reasoningShown = settings?.bool(.reasoningEnabled) ?? true
            if !reasoning.isEmpty, reasoningShown {
                frames.append(SSEFrame.reasoningDone(duration: answer.reasoningDuration))
            }
            let saveReasoning = reasoningShown && (plan.saveReasoning ?? settings?.bool(.reasoningSaveToDb) ?? true) && !reasoning.isEmpty
            let keep = !job.isDiscarded
            var answerRow: NewAnswer?
            if keep, !content.isEmpty || saveReasoning {
                answerRow = NewAnswer(
                    sessionId: plan.session.id, parentId: plan.userMessage.id, content: content, reasoning: saveReasoning ? reasoning : nil,
                    reasoningDurationSeconds: saveReasoning ? answer.reasoningDuration : nil, status: status, model: plan.session.modelRawId
                )
            }
            var usageRow: NewUsage?
            if keep, let settings, settings.bool(.usageEmit), answerRow != nil || status == nil {
                let completion = TokenEstimator.count(answer.content)
                let provider = answer.providerUsage
                let figures = UsageFigures(
                    promptTokens: provider?.prompt ?? promptTokens,
                    completionTokens: provider?.completion ?? completion,
                    totalTokens: provider?.total ?? promptTokens + completion,
                    contextLimit: limit,
                    contextRemaining: max(0, limit - promptTokens)
                )
                if !settings.bool(.usageProviderOnly) || provider == nil {
                    frames.append(SSEFrame.usage(figures))
                }
                usageRow = NewUsage(
                    sessionId: plan.session.id, messageId: nil, model: plan.session.modelRawId ?? "unknown", provider: plan.connection.host,
                    promptTokens: figures.promptTokens, completionTokens: figures.completionTokens ?? 0, totalTokens: figures.totalTokens,
                    contextLimit: limit
                )
            }
            // The answer and its usage row in one transaction: one commit per answer.
            var saved: ChatMessageRecord?
            do {
                saved = try await messages.saveAnswer(answerRow, usage: usageRow)
            } catch {
                logger.error("could not save the answer in session \(plan.session.id): \(error)")
            }
            if let errorMessage {
                job.errorMessage = errorMessage
                frames.append(SSEFrame.error(errorMessage))
            } else {
                var fields: [String: JSONValue] = ["type": .string("complete")]
                if let saved { fields["assistantMessageId"] = .number(Double(saved.id)) }
                frames.append(SSEFrame.event(fields))
            }
            return frames
        }
        for frame in await closing.value { job.emit(frame, as: .other) }
        job.finish()
    }
}

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
