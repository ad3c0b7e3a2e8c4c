/// Decodes Ollama's native `/api/chat` stream: one JSON object per line (NDJSON), not server-sent events.
///
/// The last object has `done: true`, the stop reason and the token counts (`prompt_eval_count` is missing when
/// the prompt came from Ollama's cache, so usage is reported whenever either count is above zero).
typealias OllamaStreamDecoder = FramedStreamDecoder<NDJSONReader, OllamaStreamPayloads>

struct OllamaStreamPayloads: StreamPayloadHandler {
    mutating func handle(_ payload: ArraySlice<UInt8>, event: String?, into events: inout [ProviderStreamEvent]) throws(ProviderError) -> Bool {
        guard let chunk = ProviderJSON.decode(OllamaChunk.self, from: payload) else { return false }
        if let error = chunk.error { throw .upstream(status: nil, message: error.message) }
        if let thinking = chunk.message?.thinking, !thinking.isEmpty { events.append(.reasoning(thinking)) }
        if let content = chunk.message?.content, !content.isEmpty { events.append(.content(content)) }
        if chunk.done == true {
            events.append(.finish(reason: chunk.finishReason))
            if let usage = chunk.usage { events.append(.usage(usage)) }
            events.append(.done)
        }
        return true
    }
}

/// An Ollama chat chunk or response.
struct OllamaChunk: Decodable, Sendable {
    var message: Message?
    var done: Bool?
    var doneReason: String?
    var promptEvalCount: Int?
    var evalCount: Int?
    var error: UpstreamErrorBody?

    private enum Keys: String, CodingKey {
        case message, done, error
        case doneReason = "done_reason"
        case promptEvalCount = "prompt_eval_count"
        case evalCount = "eval_count"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        self.message = container.lenientValue(Message.self, forKey: .message)
        self.done = container.lenientValue(Bool.self, forKey: .done)
        self.doneReason = container.lenientValue(String.self, forKey: .doneReason)
        self.promptEvalCount = container.tokenCount(forKey: .promptEvalCount)
        self.evalCount = container.tokenCount(forKey: .evalCount)
        self.error = container.lenientValue(UpstreamErrorBody.self, forKey: .error)
    }

    struct Message: Decodable, Sendable {
        var content: String?
        var thinking: String?

        private enum Keys: String, CodingKey {
            case content, thinking
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.content = container.lenientValue(String.self, forKey: .content)
            self.thinking = container.lenientValue(String.self, forKey: .thinking)
        }
    }

    /// `done_reason`, or `stop` when Ollama (older versions) leaves it out.
    var finishReason: String {
        guard let reason = self.doneReason, !reason.isEmpty else { return "stop" }
        return reason
    }

    var usage: ProviderUsage? {
        let usage = ProviderUsage(prompt: self.promptEvalCount ?? 0, completion: self.evalCount ?? 0)
        return usage.isMeaningful ? usage : nil
    }
}
