/// Decodes OpenAI-style Chat Completions streams (OpenAI, Azure OpenAI and compatible servers).
///
/// Reasoning arrives as `delta.reasoning_content` (DeepSeek, vLLM, most compatible servers) or `delta.reasoning`
/// (OpenRouter, newer vLLM); when a chunk has both, only `reasoning_content` is used so the text is not doubled.
/// Usage is reported only when a count is above zero: some servers send all-zero usage on every chunk.
typealias OpenAIStreamDecoder = FramedStreamDecoder<SSEReader, OpenAIStreamPayloads>

struct OpenAIStreamPayloads: StreamPayloadHandler {
    mutating func handle(_ payload: ArraySlice<UInt8>, event: String?, into events: inout [ProviderStreamEvent]) throws(ProviderError) -> Bool {
        if ProviderJSON.isDoneMarker(payload) {
            events.append(.done)
            return true
        }
        guard let chunk = ProviderJSON.decode(OpenAIChunk.self, from: payload) else { return false }
        if let error = chunk.error { throw .upstream(status: nil, message: error.message) }
        if event == "error" {
            throw .upstream(status: nil, message: ProviderJSON.decode(UpstreamErrorBody.self, from: payload)?.message ?? "unknown error")
        }
        if let choice = chunk.choices?.first {
            if let delta = choice.delta ?? choice.message {
                if let reasoning = delta.reasoningText { events.append(.reasoning(reasoning)) }
                if let content = delta.content, !content.isEmpty { events.append(.content(content)) }
            }
            if let reason = choice.finishReason, !reason.isEmpty { events.append(.finish(reason: reason)) }
        }
        if let usage = chunk.usage?.usage, usage.isMeaningful { events.append(.usage(usage)) }
        return true
    }
}

/// A Chat Completions chunk or response: the fields read here, each optional and type-tolerant.
struct OpenAIChunk: Decodable, Sendable {
    var choices: [Choice]?
    var usage: Usage?
    var error: UpstreamErrorBody?

    private enum Keys: String, CodingKey {
        case choices, usage, error
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        self.choices = container.lenientValue([Choice].self, forKey: .choices)
        self.usage = container.lenientValue(Usage.self, forKey: .usage)
        self.error = container.lenientValue(UpstreamErrorBody.self, forKey: .error)
    }

    struct Choice: Decodable, Sendable {
        /// Streams carry `delta`; whole responses carry `message`.
        var delta: Message?
        var message: Message?
        var finishReason: String?

        private enum Keys: String, CodingKey {
            case delta, message
            case finishReason = "finish_reason"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.delta = container.lenientValue(Message.self, forKey: .delta)
            self.message = container.lenientValue(Message.self, forKey: .message)
            self.finishReason = container.lenientValue(String.self, forKey: .finishReason)
        }
    }

    struct Message: Decodable, Sendable {
        var content: String?
        var reasoningContent: String?
        var reasoning: String?

        private enum Keys: String, CodingKey {
            case content, reasoning
            case reasoningContent = "reasoning_content"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.content = container.lenientValue(String.self, forKey: .content)
            self.reasoningContent = container.lenientValue(String.self, forKey: .reasoningContent)
            self.reasoning = container.lenientValue(String.self, forKey: .reasoning)
        }

        /// `reasoning_content`, else `reasoning`; nil when neither has text.
        var reasoningText: String? {
            if let text = self.reasoningContent, !text.isEmpty { return text }
            if let text = self.reasoning, !text.isEmpty { return text }
            return nil
        }
    }

    struct Usage: Decodable, Sendable {
        var promptTokens: Int?
        var completionTokens: Int?
        var totalTokens: Int?

        private enum Keys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.promptTokens = container.tokenCount(forKey: .promptTokens)
            self.completionTokens = container.tokenCount(forKey: .completionTokens)
            self.totalTokens = container.tokenCount(forKey: .totalTokens)
        }

        var usage: ProviderUsage {
            let prompt = self.promptTokens ?? 0
            let completion = self.completionTokens ?? 0
            let total = self.totalTokens ?? 0
            return ProviderUsage(prompt: prompt, completion: completion, total: total > 0 ? total : prompt + completion)
        }
    }
}
