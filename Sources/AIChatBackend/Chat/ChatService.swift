import AIChatCore
import Foundation
import Logging

/// What one answer is generated from, decided before the job starts: the question is stored already.
struct GenerationPlan: Sendable {
    var user: User
    var session: ChatSession
    var connection: Connection
    var userMessage: ChatMessageRecord
    var reasoningEnabled: Bool?
    var reasoningEffort: ReasoningEffort?
    var ollamaThink: Bool?
    var saveReasoning: Bool?
    /// The title this turn gave a new conversation from its first message; the model may replace it.
    var derivedTitle: String?
}

/// Starts answers as server-side jobs (``AnswerRun``) and builds what they send: the history that fits the budget
/// and the request options.
final class ChatService: Sendable {
    let sessions: any SessionRepository
    let messages: any MessageRepository
    let gateway: ProviderGateway
    let settings: SystemSettingsService
    let contextLimits: ContextLimits
    let registry: GenerationRegistry
    let persistence: AnswerPersistence
    let titles: TitleGenerator
    let logger: Logger
    /// The largest answer kept (see ``AnswerStream/maxAnswerBytes``).
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
        self.persistence = AnswerPersistence(
            messages: messages, checkpoints: registry.checkpoints ?? AnswerCheckpoints(messages: messages, logger: logger), logger: logger
        )
        self.titles = TitleGenerator(gateway: gateway, sessions: sessions, messages: messages, registry: registry, logger: logger)
        self.logger = logger
    }

    static func usable(_ connection: Connection?, session: ChatSession) throws -> Connection {
        guard let connection, connection.id == session.connectionId, let model = session.modelRawId, !model.isEmpty else {
            throw APIError.badRequest("Session model not selected")
        }
        guard connection.enable else { throw APIError.badRequest("The session's connection is disabled") }
        return connection
    }

    /// Starts a job for `plan` (whose question is stored), or returns the job already running in that session.
    func start(_ plan: GenerationPlan) throws -> GenerationJob {
        let job = GenerationJob(
            sessionId: plan.session.id, userId: plan.user.id, userMessageId: plan.userMessage.id, clientMessageId: plan.userMessage.clientMessageId,
            model: plan.session.modelRawId
        )
        guard let registered = self.registry.register(job) else {
            throw APIError(.serviceUnavailable, "The server is restarting; try again in a moment")
        }
        guard registered === job else { return registered }
        let run = AnswerRun(service: self, plan: plan, job: job)
        // Detached: the job copies none of the request's task-local values (it outlives the request anyway).
        Task.detached { await run.run() }
        return job
    }

    /// The provider messages: the session's system prompt, then the history that fits the budget, then the
    /// current turn (always kept, with its images).
    func conversation(_ plan: GenerationPlan, history: [ChatMessageRecord], limit: Int) -> ([ChatMessage], Int) {
        // Conversation order: an answer stands right after its question (`parentId`), also a version regenerated
        // later; only what comes before the current question is history.
        let earlier = history.filter { ($0.parentId ?? $0.id) < plan.userMessage.id && !$0.content.isEmpty }
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
}
