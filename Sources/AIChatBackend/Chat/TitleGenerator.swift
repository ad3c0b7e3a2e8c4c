import AIChatCore
import Foundation
import Logging

/// After the first answer of a new conversation, asks the model for a short title (when `title_by_model` is on)
/// and sets it unless the user renamed the conversation meanwhile. Runs after the answer is saved, tracked by the
/// registry so that shutdown waits for it; a failure keeps the title taken from the first message.
struct TitleGenerator: Sendable {
    let gateway: ProviderGateway
    let sessions: any SessionRepository
    let messages: any MessageRepository
    let registry: GenerationRegistry
    let logger: Logger

    func start(_ plan: GenerationPlan, answer: AnswerAccumulator, settings: SystemSettings, request: AnswerRequest) {
        guard settings.bool(.titleByModel), let derived = plan.derivedTitle else { return }
        let question = String(plan.userMessage.content.prefix(1500))
        let reply = String(answer.content.prefix(1500))
        guard !reply.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        self.registry.runTitleRequest {
            await self.run(plan, question: question, reply: reply, derived: derived, settings: settings, request: request)
        }
    }

    private func run(_ plan: GenerationPlan, question: String, reply: String, derived: String, settings: SystemSettings, request: AnswerRequest) async
    {
        let messages = [
            ChatMessage(role: .system, text: Self.instruction),
            ChatMessage(role: .user, text: "User: \(question)\n\nAssistant: \(reply)"),
        ]
        var options = request.options
        options.reasoningEnabled = false
        do {
            let providerRequest = try ProviderRequestBuilder(request.endpoint).chat(messages, options: options, stream: false)
            let body = try await self.gateway.fetch(
                providerRequest, guarded: !plan.connection.isSystem, timeout: .seconds(60), secrets: request.secrets, upTo: 1 << 20
            )
            let completion = try ProviderResponseParser.completion(kind: plan.connection.kind ?? .openai, body: Data(buffer: body))
            // The title costs tokens too: counted with the conversation's usage, apart from its answers.
            if settings.bool(.usageEmit) {
                let prompt = completion.usage?.prompt ?? messages.reduce(0) { $0 + TokenEstimator.count($1.text) }
                let output = completion.usage?.completion ?? TokenEstimator.count(completion.text)
                try? await self.messages.insertUsage(
                    NewUsage(
                        sessionId: plan.session.id, messageId: nil, model: plan.session.modelRawId ?? "unknown", provider: plan.connection.host,
                        promptTokens: prompt, completionTokens: output, totalTokens: completion.usage?.total ?? prompt + output,
                        contextLimit: nil, kind: "title"
                    )
                )
            }
            guard let title = Self.cleanTitle(completion.text) else { return }
            _ = try await self.sessions.replaceTitle(id: plan.session.id, userId: plan.user.id, expected: derived, with: title)
        } catch {
            self.logger.info("session \(plan.session.id): no title from the model (\(error))")
        }
    }

    static let instruction = """
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
}
