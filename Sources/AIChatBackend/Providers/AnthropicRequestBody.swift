import AIChatCore

/// Bodies for Anthropic's Messages API.
///
/// System messages go to the top-level `system` field; consecutive messages of one role are merged because the
/// API requires user and assistant turns to alternate; empty text blocks are left out because the API rejects
/// them. With extended thinking on, `temperature` is not sent (only the default is accepted) and `max_tokens`
/// is raised when needed so that it stays above the thinking budget, as the API requires.
enum AnthropicRequestBody {
    static func thinkingBudget(_ effort: ReasoningEffort?) -> Int {
        switch effort ?? .medium {
            case .low: 2048
            case .medium: 8192
            case .high: 16384
        }
    }

    static func make(_ messages: [ChatMessage], options: GenerationOptions, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(options.model),
            "messages": .array(Self.turns(messages)),
            "stream": .bool(stream),
        ]
        let system = messages.filter { $0.role == .system && $0.hasText }.map(\.text)
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        let requested = options.maxTokens.flatMap { $0 > 0 ? $0 : nil }
        if options.reasoningEnabled {
            var budget = Self.thinkingBudget(options.reasoningEffort)
            let maxTokens: Int
            if let requested {
                // The budget must be at least 1024 and below max_tokens; a small limit shrinks the budget first.
                budget = max(1024, min(budget, requested - 1024))
                maxTokens = max(requested, budget + 1024)
            } else {
                maxTokens = budget + Self.answerAllowance
            }
            body["max_tokens"] = .number(Double(maxTokens))
            body["thinking"] = .object(["type": .string("enabled"), "budget_tokens": .number(Double(budget))])
        } else {
            body["max_tokens"] = .number(Double(requested ?? ProviderRequestBuilder.anthropicDefaultMaxTokens))
            if let temperature = options.temperature { body["temperature"] = .number(temperature) }
        }
        return .object(body)
    }

    /// Room for the visible answer on top of the thinking budget when no limit was asked for.
    static let answerAllowance = ProviderRequestBuilder.anthropicDefaultMaxTokens

    static func turns(_ messages: [ChatMessage]) -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        for message in messages where message.role != .system {
            let blocks = Self.blocks(message)
            guard !blocks.isEmpty else { continue }
            let role = message.role.rawValue
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { .object(["role": .string($0.role), "content": .array($0.blocks)]) }
    }

    /// Images first (the order Anthropic recommends), then the text.
    static func blocks(_ message: ChatMessage) -> [JSONValue] {
        var blocks: [JSONValue] = []
        if message.role == .user {
            for image in message.images {
                let source: JSONValue = .object([
                    "type": .string("base64"), "media_type": .string(image.mime), "data": .string(image.base64Data),
                ])
                blocks.append(.object(["type": .string("image"), "source": source]))
            }
        }
        if message.hasText { blocks.append(.object(["type": .string("text"), "text": .string(message.text)])) }
        return blocks
    }
}
