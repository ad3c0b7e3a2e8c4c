import Foundation

/// A whole (non-streamed) answer.
public struct ProviderCompletion: Sendable, Equatable {
    /// The answer text as the provider sent it; reasoning tags inside it are left for ``ReasoningTagExtractor``.
    public var text: String
    /// Reasoning the provider returned separately (empty when none).
    public var reasoning: String
    public var finishReason: String?
    public var usage: ProviderUsage?

    public init(text: String, reasoning: String = "", finishReason: String? = nil, usage: ProviderUsage? = nil) {
        self.text = text
        self.reasoning = reasoning
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// A model offered by a connection: the provider's id and a display name (the id when it has none).
public struct ProviderModel: Sendable, Equatable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// Reads providers' non-stream answers, model lists and error bodies.
public enum ProviderResponseParser {
    /// The answer of a non-stream chat request (a 2xx body).
    public static func completion(kind: ProviderKind, body: Data) throws(ProviderError) -> ProviderCompletion {
        switch kind {
            case .openai, .azureOpenAI:
                let response = try Self.decode(OpenAIChunk.self, body)
                if let error = response.error { throw .upstream(status: nil, message: error.message) }
                guard let choice = response.choices?.first else { throw .malformedResponse("the answer has no choices") }
                let message = choice.message ?? choice.delta
                return ProviderCompletion(
                    text: message?.content ?? "", reasoning: message?.reasoningText ?? "",
                    finishReason: choice.finishReason.flatMap { $0.isEmpty ? nil : $0 },
                    usage: response.usage.map(\.usage).flatMap { $0.isMeaningful ? $0 : nil }
                )
            case .ollama:
                let response = try Self.decode(OllamaChunk.self, body)
                if let error = response.error { throw .upstream(status: nil, message: error.message) }
                guard let message = response.message else { throw .malformedResponse("the answer has no message") }
                return ProviderCompletion(
                    text: message.content ?? "", reasoning: message.thinking ?? "", finishReason: response.finishReason, usage: response.usage
                )
            case .anthropic:
                let response = try Self.decode(AnthropicChunk.self, body)
                if let error = response.error { throw .upstream(status: nil, message: error.message) }
                guard let blocks = response.content else { throw .malformedResponse("the answer has no content") }
                var text = ""
                var reasoning = ""
                for block in blocks {
                    switch block.type {
                        case "text": text += block.text ?? ""
                        case "thinking": reasoning += block.thinking ?? ""
                        default: break
                    }
                }
                let usage = response.usage.map { ProviderUsage(prompt: $0.inputTotal, completion: $0.outputTokens ?? 0) }
                return ProviderCompletion(
                    text: text, reasoning: reasoning, finishReason: response.stopReason.map(AnthropicStreamPayloads.finishReason),
                    usage: usage.flatMap { $0.isMeaningful ? $0 : nil }
                )
            case .google:
                let response = try Self.decode(GeminiChunk.self, body)
                if let error = response.error { throw .upstream(status: nil, message: error.message) }
                var text = ""
                var reasoning = ""
                var finish: String?
                if let candidate = response.candidates?.first {
                    for part in candidate.content?.parts ?? [] {
                        if part.thought == true { reasoning += part.text ?? "" } else { text += part.text ?? "" }
                    }
                    finish = candidate.finishReason.map(GeminiStreamPayloads.finishReason)
                } else if let blocked = response.promptFeedback?.blockReason {
                    finish = blocked.lowercased()
                } else {
                    throw .malformedResponse("the answer has no candidates")
                }
                let usage = response.usageMetadata?.usage
                return ProviderCompletion(text: text, reasoning: reasoning, finishReason: finish, usage: usage.flatMap { $0.isMeaningful ? $0 : nil })
        }
    }

    /// The models of a model-list answer, without duplicates, in the provider's order. Gemini ids lose their
    /// `models/` prefix, and Gemini models that cannot chat (`supportedGenerationMethods` without
    /// `generateContent`, e.g. embedding models) are left out.
    public static func models(kind: ProviderKind, body: Data) throws(ProviderError) -> [ProviderModel] {
        let list = try Self.decode(ModelList.self, body)
        let items = list.data ?? list.models ?? list.items ?? []
        var seen: Set<String> = []
        var models: [ProviderModel] = []
        for item in items {
            let model: ProviderModel?
            switch kind {
                case .openai, .azureOpenAI: model = Self.model(id: item.id, name: item.name)
                case .ollama: model = Self.model(id: item.model ?? item.name, name: item.name)
                case .anthropic: model = Self.model(id: item.id, name: item.displayName)
                case .google:
                    if let methods = item.supportedGenerationMethods, !methods.contains("generateContent") { continue }
                    let id = item.name.map { $0.hasPrefix("models/") ? String($0.dropFirst("models/".count)) : $0 }
                    model = Self.model(id: id, name: item.displayName)
            }
            if let model, seen.insert(model.id).inserted { models.append(model) }
        }
        return models
    }

    /// The error for a non-2xx answer, with the provider's message when its body has one.
    public static func error(status: Int, body: Data) -> ProviderError {
        .upstream(status: status, message: Self.errorMessage(body) ?? "")
    }

    /// The message of an error body: `error.message`, `error` as text, `message` or `detail`; the first line of a
    /// short plain-text body; nil for HTML pages and anything else.
    public static func errorMessage(_ body: Data) -> String? {
        let bytes = body.prefix(64 * 1024)
        if let envelope = ProviderJSON.decode(ErrorDocument.self, from: bytes) {
            return envelope.message.flatMap { $0.isEmpty ? nil : $0 }
        }
        if let list = ProviderJSON.decode([ErrorDocument].self, from: bytes) {
            return list.first?.message.flatMap { $0.isEmpty ? nil : $0 }
        }
        let text = String(decoding: body.prefix(600), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.hasPrefix("<"), !text.hasPrefix("{"), !text.hasPrefix("[") else { return nil }
        return text.split(separator: "\n", maxSplits: 1).first.map(String.init)
    }

    private static func model(id: String?, name: String?) -> ProviderModel? {
        guard let id = id?.trimmingCharacters(in: .whitespaces), !id.isEmpty else { return nil }
        let display = name?.trimmingCharacters(in: .whitespaces) ?? ""
        return ProviderModel(id: id, name: display.isEmpty ? id : display)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws(ProviderError) -> T {
        guard let value = ProviderJSON.decode(type, from: body) else { throw .malformedResponse("the body is not the expected JSON") }
        return value
    }
}

/// The list shapes: `{"data": […]}` (OpenAI, Anthropic), `{"models": […]}` (Ollama, Gemini), or a bare array.
private struct ModelList: Decodable {
    var data: [Item]?
    var models: [Item]?
    var items: [Item]?

    private enum Keys: String, CodingKey {
        case data, models
    }

    init(from decoder: any Decoder) throws {
        if let items = try? decoder.singleValueContainer().decode([Item].self) {
            self.items = items
            return
        }
        let container = try decoder.container(keyedBy: Keys.self)
        self.data = container.lenientValue([Item].self, forKey: .data)
        self.models = container.lenientValue([Item].self, forKey: .models)
    }

    struct Item: Decodable {
        var id: String?
        var name: String?
        var model: String?
        var displayName: String?
        var supportedGenerationMethods: [String]?

        private enum Keys: String, CodingKey {
            case id, name, model, displayName, supportedGenerationMethods
            case displayNameSnake = "display_name"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.id = container.lenientValue(String.self, forKey: .id)
            self.name = container.lenientValue(String.self, forKey: .name)
            self.model = container.lenientValue(String.self, forKey: .model)
            self.displayName =
                container.lenientValue(String.self, forKey: .displayName)
                ?? container.lenientValue(String.self, forKey: .displayNameSnake)
            self.supportedGenerationMethods = container.lenientValue([String].self, forKey: .supportedGenerationMethods)
        }
    }
}

/// An error body of any provider: `{"error": …}`, `{"message": …}` or FastAPI's `{"detail": …}`.
private struct ErrorDocument: Decodable {
    var message: String?

    private enum Keys: String, CodingKey {
        case error, message, detail
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        self.message =
            container.lenientValue(UpstreamErrorBody.self, forKey: .error)?.message
            ?? container.lenientValue(String.self, forKey: .message)
            ?? container.lenientValue(String.self, forKey: .detail)
    }
}
