import AIChatCore

/// Bodies for Gemini's `generateContent` / `streamGenerateContent`.
///
/// Roles are `user` and `model`; system messages become `systemInstruction`; consecutive turns of one role are
/// merged (older models require alternation) and turns without any part are dropped (the API rejects them).
enum GeminiRequestBody {
    static func make(_ messages: [ChatMessage], options: GenerationOptions) -> JSONValue {
        var body: [String: JSONValue] = ["contents": .array(Self.contents(messages))]
        let system = messages.filter { $0.role == .system && $0.hasText }.map(\.text)
        if !system.isEmpty {
            body["systemInstruction"] = .object(["parts": .array([.object(["text": .string(system.joined(separator: "\n\n"))])])])
        }
        var config: [String: JSONValue] = [:]
        if let temperature = options.temperature { config["temperature"] = .number(temperature) }
        if let maxTokens = options.maxTokens, maxTokens > 0 { config["maxOutputTokens"] = .number(Double(maxTokens)) }
        if options.reasoningEnabled { config["thinkingConfig"] = .object(["includeThoughts": .bool(true)]) }
        if !config.isEmpty { body["generationConfig"] = .object(config) }
        return .object(body)
    }

    static func contents(_ messages: [ChatMessage]) -> [JSONValue] {
        var turns: [(role: String, parts: [JSONValue])] = []
        for message in messages where message.role != .system {
            var parts: [JSONValue] = []
            if message.role == .user {
                for image in message.images {
                    parts.append(.object(["inline_data": .object(["mime_type": .string(image.mime), "data": .string(image.base64Data)])]))
                }
            }
            if message.hasText { parts.append(.object(["text": .string(message.text)])) }
            guard !parts.isEmpty else { continue }
            let role = message.role == .assistant ? "model" : "user"
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].parts += parts
            } else {
                turns.append((role, parts))
            }
        }
        return turns.map { .object(["role": .string($0.role), "parts": .array($0.parts)]) }
    }
}
