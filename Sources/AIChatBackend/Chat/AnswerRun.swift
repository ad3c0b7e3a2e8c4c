import AIChatCore
import Foundation
import Logging
import NIOCore

/// The provider request of one answer, as built from its plan, kept for a request without streaming and the title.
struct AnswerRequest: Sendable {
    var endpoint: ProviderEndpoint
    var messages: [ChatMessage]
    var options: GenerationOptions
    /// Values that must never appear in what the user sees (keys, tokens).
    var secrets: [String]
    var budget: PromptBudgetFigures
}

/// Runs one answer, in one task, from its stored question to its saved message: settings, history and budget; the
/// provider's stream decoded and sent to the watchers; on a failure one request without streaming when that may
/// help; then the answer saved and the job closed. Stop, deletion and the server's clocks cancel the provider
/// request (a child task), never the saving.
struct AnswerRun: Sendable {
    let service: ChatService
    let plan: GenerationPlan
    let job: GenerationJob

    func run() async {
        var settings: SystemSettings?
        var request: AnswerRequest?
        var answer = AnswerAccumulator()
        var failure: (any Error)?
        do {
            let current = try await self.service.settings.current()
            settings = current
            let idle = current.int(.providerMaxIdleMs)
            self.job.configureTimers(
                heartbeat: .milliseconds(max(1000, current.int(.sseHeartbeatIntervalMs))),
                idleLimit: idle > 0 ? .milliseconds(idle) : nil,
                overall: .milliseconds(current.int(.providerTimeoutMs))
            )
            let prepared = try await self.prepare(settings: current)
            request = prepared
            let streaming = Task { await self.stream(prepared, settings: current) }
            self.job.setCanceller { streaming.cancel() }
            (answer, failure) = await streaming.value
            self.job.setCanceller {}
        } catch {
            failure = error
        }
        var ending = AnswerPersistence.Ending()
        if let failure {
            ending = AnswerFailure.ending(after: failure, job: self.job, sessionId: self.plan.session.id, logger: self.service.logger)
            if ending.status == .stopped { self.job.emit(SSEFrame.stop(reason: "cancelled"), as: .other) }
        }
        await self.service.persistence.save(
            self.plan, job: self.job, answer: answer, ending: ending, settings: settings, budget: request?.budget ?? PromptBudgetFigures()
        )
        if failure == nil, let settings, let request {
            self.service.titles.start(self.plan, answer: answer, settings: settings, request: request)
        }
        self.service.registry.remove(self.job)
        self.job.markDone()
    }

    /// History and budget, the opening frames, and the provider request.
    private func prepare(settings: SystemSettings) async throws -> AnswerRequest {
        async let limit = self.service.contextLimits.limit(for: self.plan.user, session: self.plan.session)
        let history = try await self.service.history(for: self.plan.session)
        let budgetLimit = try await limit
        let (messages, prompt) = self.service.conversation(self.plan, history: history, limit: budgetLimit)
        // One write to the watchers for the opening frames.
        var frames: [(ByteBuffer, GenerationJob.Part)] = [(SSEFrame.start(messageId: self.plan.userMessage.id), .opening)]
        if settings.bool(.usageEmit), !settings.bool(.usageProviderOnly) {
            let usage = UsageFigures(
                promptTokens: prompt, totalTokens: prompt, contextLimit: budgetLimit, contextRemaining: max(0, budgetLimit - prompt)
            )
            frames.append((SSEFrame.usage(usage), .opening))
        }
        self.job.emit(batch: frames)
        let endpoint = try self.service.gateway.endpoint(for: self.plan.connection)
        return AnswerRequest(
            endpoint: endpoint, messages: messages, options: ChatService.options(self.plan, settings: settings),
            secrets: [endpoint.apiKey, endpoint.systemOAuthToken, endpoint.azureAccessToken].compactMap { $0 },
            budget: PromptBudgetFigures(promptTokens: prompt, limit: budgetLimit)
        )
    }

    /// The streamed request (the cancellable step): what was produced, and the error it ended with, if any.
    private func stream(_ request: AnswerRequest, settings: SystemSettings) async -> (AnswerAccumulator, (any Error)?) {
        let gateway = self.service.gateway
        var stream = AnswerStream(settings: settings, kind: self.plan.connection.kind ?? .openai, maxAnswerBytes: self.service.maxAnswerBytes)
        do {
            let providerRequest = try ProviderRequestBuilder(request.endpoint).chat(request.messages, options: request.options, stream: true)
            self.job.touch()
            let response = try await gateway.executeWithRetry(
                providerRequest, guarded: !self.plan.connection.isSystem, timeout: .milliseconds(settings.int(.providerTimeoutMs)),
                secrets: request.secrets
            )
            defer { response.close() }
            do {
                for try await piece in response.body { try stream.consume(piece, job: self.job) }
            } catch {
                throw gateway.failure(for: error, request: providerRequest)
            }
            try stream.complete(job: self.job)
            return (stream.accumulator, nil)
        } catch {
            stream.flush(job: self.job)
            if AnswerFailure.mayRetryWithoutStreaming(after: error, job: self.job, answer: stream.accumulator),
                let completion = await self.withoutStreaming(request, settings: settings)
            {
                stream.receive(completion, job: self.job)
                return (stream.accumulator, nil)
            }
            return (stream.accumulator, error)
        }
    }

    /// The same request with `stream: false`, bound by the overall time limit only (nothing arrives until the whole
    /// answer does, so the idle limit does not apply). Nil when it fails too or yields no text.
    private func withoutStreaming(_ request: AnswerRequest, settings: SystemSettings) async -> ProviderCompletion? {
        self.job.suspendIdleLimit()
        let limit = self.service.maxAnswerBytes
        do {
            let providerRequest = try ProviderRequestBuilder(request.endpoint).chat(request.messages, options: request.options, stream: false)
            // The JSON around an answer (escapes included) stays within a few times the answer's size.
            let body = try await self.service.gateway.fetch(
                providerRequest, guarded: !self.plan.connection.isSystem, timeout: .milliseconds(settings.int(.providerTimeoutMs)),
                secrets: request.secrets, upTo: 4 * limit + (64 << 10)
            )
            let completion = try ProviderResponseParser.completion(kind: self.plan.connection.kind ?? .openai, body: Data(buffer: body))
            guard !completion.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                completion.text.utf8.count + completion.reasoning.utf8.count <= limit
            else { return nil }
            self.service.logger.info("session \(self.plan.session.id): the streamed request failed; answered without streaming")
            return completion
        } catch {
            return nil
        }
    }
}
