import AIChatCore

/// Bodies for Ollama's native `/api/chat`: images as a list of bare Base64 strings on the message, sampling
/// settings under `options`, and `think` only when asked for (it is an error on models that cannot think).
enum OllamaRequestBody {
    static func make(_ messages: [ChatMessage], options: GenerationOptions, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(options.model),
            "messages": .array(messages.map(Self.message)),
            "stream": .bool(stream),
        ]
        if options.reasoningEnabled, options.ollamaThink { body["think"] = .bool(true) }
        var settings: [String: JSONValue] = [:]
        if let temperature = options.temperature { settings["temperature"] = .number(temperature) }
        if let maxTokens = options.maxTokens, maxTokens > 0 { settings["num_predict"] = .number(Double(maxTokens)) }
        if !settings.isEmpty { body["options"] = .object(settings) }
        return .object(body)
    }

    static func message(_ message: ChatMessage) -> JSONValue {
        var fields: [String: JSONValue] = ["role": .string(message.role.rawValue), "content": .string(message.text)]
        if message.role == .user, !message.images.isEmpty {
            fields["images"] = .array(message.images.map { .string($0.base64Data) })
        }
        return .object(fields)
    }
}
