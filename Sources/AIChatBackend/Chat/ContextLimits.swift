import AIChatCore

/// The token budget of a conversation's history.
///
/// The user's personal limit when set, otherwise the system's `max_context_tokens` (whose fallback is
/// `DEFAULT_CONTEXT_TOKEN_LIMIT`); never more than the model's own context window where that is known.
struct ContextLimits {
    let settings: SystemSettingsService
    let repository: any SettingsRepository

    /// Context windows of well-known model families, matched on the raw model id (first match wins).
    static let knownWindows: [(fragment: String, tokens: Int)] = [
        ("gpt-4.1", 1_047_576), ("gpt-5", 400_000), ("gpt-4o", 128_000), ("gpt-4-turbo", 128_000), ("o1", 200_000), ("o3", 200_000),
        ("o4", 200_000), ("gpt-4", 8_192), ("gpt-3.5", 16_385), ("claude", 200_000), ("gemini-1.5", 1_000_000), ("gemini-2", 1_000_000),
        ("deepseek", 64_000), ("qwen2.5", 32_768), ("llama3.1", 128_000), ("llama3.2", 128_000), ("llama3", 8_192), ("mistral", 32_768),
    ]

    static func window(of rawId: String?) -> Int? {
        guard let id = rawId?.lowercased() else { return nil }
        return Self.knownWindows.first { id.contains($0.fragment) }?.tokens
    }

    func limit(for user: User, session: ChatSession) async throws -> Int {
        Self.limit(base: try await self.base(for: user), model: session.modelRawId)
    }

    /// The user's limit before the model's window is applied.
    func base(for user: User) async throws -> Int {
        if let personal = try await self.repository.userSettings(userId: user.id)["context_token_limit"].flatMap(Int.init) {
            return personal
        }
        return try await self.settings.current().int(.maxContextTokens)
    }

    static func limit(base: Int, model: String?) -> Int {
        if let window = Self.window(of: model) { return min(base, window) }
        return base
    }
}

/// Prompt token accounting: each message costs 4 + tokens(content) + tokens(role), plus 3 for the reply.
enum PromptBudget {
    static func cost(role: String, content: String) -> Int {
        TokenEstimator.messageCost(role: role, content: content)
    }

    static func cost(of messages: [(role: String, content: String)]) -> Int {
        TokenEstimator.replyPriming + messages.reduce(0) { $0 + Self.cost(role: $1.role, content: $1.content) }
    }

    /// Keeps the newest messages that fit `limit`, always keeping the last one (the current turn) even if it
    /// alone is larger; returns them oldest first with the prompt tokens they use.
    static func truncate<Message>(
        _ messages: [Message], limit: Int, role: (Message) -> String, content: (Message) -> String
    ) -> (kept: [Message], promptTokens: Int) {
        var kept: [Message] = []
        var used = TokenEstimator.replyPriming
        for (index, message) in messages.enumerated().reversed() {
            let cost = Self.cost(role: role(message), content: content(message))
            if index == messages.count - 1 || used + cost <= limit {
                kept.append(message)
                used += cost
            } else {
                break
            }
        }
        return (kept.reversed(), used)
    }
}
