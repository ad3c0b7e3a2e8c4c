import AIChatCore

/// Chat Completions bodies, for OpenAI-compatible servers and Azure OpenAI.
///
/// Never sends Ollama's `think` (OpenAI rejects unknown parameters on some models); asks for usage in streams
/// (`stream_options.include_usage`), so answers are counted by the provider rather than estimated.
enum OpenAIRequestBody {
    static func make(_ messages: [ChatMessage], options: GenerationOptions, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(options.model),
            "messages": .array(messages.map(Self.message)),
            "stream": .bool(stream),
        ]
        if stream { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        if let temperature = options.temperature { body["temperature"] = .number(temperature) }
        if options.reasoningEnabled, let effort = options.reasoningEffort { body["reasoning_effort"] = .string(effort.rawValue) }
        if let maxTokens = options.maxTokens, maxTokens > 0 { body["max_completion_tokens"] = .number(Double(maxTokens)) }
        return .object(body)
    }

    /// A plain string for text, the content-parts array when a user message carries images (only user
    /// messages may carry them).
    static func message(_ message: ChatMessage) -> JSONValue {
        let role = JSONValue.string(message.role.rawValue)
        guard message.role == .user, !message.images.isEmpty else { return .object(["role": role, "content": .string(message.text)]) }
        var parts: [JSONValue] = []
        if message.hasText {
            parts.append(.object(["type": .string("text"), "text": .string(message.text)]))
        }
        for image in message.images {
            parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string(image.dataURL)])]))
        }
        return .object(["role": role, "content": .array(parts)])
    }
}
