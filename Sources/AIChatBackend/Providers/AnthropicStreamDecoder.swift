/// Decodes Anthropic Messages API streams.
///
/// Text comes in `content_block_delta` events (`text_delta`, or `thinking_delta` for extended thinking);
/// input tokens are reported once by `message_start`, output tokens (cumulative) by `message_delta`, together with
/// the stop reason; `message_stop` ends the message. The event type is read from the payload's `type`, falling
/// back to the SSE `event:` name.
typealias AnthropicStreamDecoder = FramedStreamDecoder<SSEReader, AnthropicStreamPayloads>

extension AnthropicStreamPayloads {
    /// Anthropic's stop reasons in the OpenAI vocabulary the browser already knows; others lower-cased as they are.
    static func finishReason(_ reason: String) -> String {
        switch reason {
            case "end_turn", "stop_sequence": "stop"
            case "max_tokens": "length"
            case "tool_use": "tool_calls"
            default: reason.lowercased()
        }
    }
}

struct AnthropicStreamPayloads: StreamPayloadHandler {
    private var inputTokens = 0
    private var outputTokens = 0

    mutating func handle(_ payload: ArraySlice<UInt8>, event: String?, into events: inout [ProviderStreamEvent]) throws(ProviderError) -> Bool {
        guard let chunk = ProviderJSON.decode(AnthropicChunk.self, from: payload) else { return false }
        let type = chunk.type ?? event ?? ""
        if type == "error" || chunk.error != nil {
            throw .upstream(status: nil, message: chunk.error?.message ?? "unknown error")
        }
        switch type {
            case "message_start":
                if let usage = chunk.message?.usage {
                    self.inputTokens = usage.inputTotal
                    self.outputTokens = usage.outputTokens ?? self.outputTokens
                }
            case "content_block_start":
                if let block = chunk.contentBlock { Self.emit(block, into: &events) }
            case "content_block_delta":
                if let delta = chunk.delta { Self.emit(delta, into: &events) }
            case "message_delta":
                if let reason = chunk.delta?.stopReason, !reason.isEmpty {
                    events.append(.finish(reason: AnthropicStreamPayloads.finishReason(reason)))
                }
                if let usage = chunk.usage {
                    if usage.inputTotal > 0 { self.inputTokens = usage.inputTotal }
                    if let output = usage.outputTokens { self.outputTokens = output }
                    let total = ProviderUsage(prompt: self.inputTokens, completion: self.outputTokens)
                    if total.isMeaningful { events.append(.usage(total)) }
                }
            case "message_stop":
                events.append(.done)
            default:
                break
        }
        return true
    }

    /// Text of a block or delta: `text` is answer text, `thinking` is reasoning (signatures are ignored).
    private static func emit(_ part: AnthropicChunk.Part, into events: inout [ProviderStreamEvent]) {
        if let thinking = part.thinking, !thinking.isEmpty { events.append(.reasoning(thinking)) }
        if let text = part.text, !text.isEmpty { events.append(.content(text)) }
    }
}

/// An Anthropic stream event or whole response (which shares `content`, `stop_reason` and `usage`).
struct AnthropicChunk: Decodable, Sendable {
    var type: String?
    var message: Message?
    var contentBlock: Part?
    var delta: Part?
    var usage: Usage?
    var error: UpstreamErrorBody?
    var content: [Part]?
    var stopReason: String?

    private enum Keys: String, CodingKey {
        case type, message, delta, usage, error, content
        case contentBlock = "content_block"
        case stopReason = "stop_reason"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        self.type = container.lenientValue(String.self, forKey: .type)
        self.message = container.lenientValue(Message.self, forKey: .message)
        self.contentBlock = container.lenientValue(Part.self, forKey: .contentBlock)
        self.delta = container.lenientValue(Part.self, forKey: .delta)
        self.usage = container.lenientValue(Usage.self, forKey: .usage)
        self.error = container.lenientValue(UpstreamErrorBody.self, forKey: .error)
        self.content = container.lenientValue([Part].self, forKey: .content)
        self.stopReason = container.lenientValue(String.self, forKey: .stopReason)
    }

    struct Message: Decodable, Sendable {
        var usage: Usage?

        private enum Keys: String, CodingKey {
            case usage
        }

        init(from decoder: any Decoder) throws {
            self.usage = try decoder.container(keyedBy: Keys.self).lenientValue(Usage.self, forKey: .usage)
        }
    }

    /// A content block, or a delta of one (which also carries the stop reason in `message_delta`).
    struct Part: Decodable, Sendable {
        var type: String?
        var text: String?
        var thinking: String?
        var stopReason: String?

        private enum Keys: String, CodingKey {
            case type, text, thinking
            case stopReason = "stop_reason"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.type = container.lenientValue(String.self, forKey: .type)
            self.text = container.lenientValue(String.self, forKey: .text)
            self.thinking = container.lenientValue(String.self, forKey: .thinking)
            self.stopReason = container.lenientValue(String.self, forKey: .stopReason)
        }
    }

    struct Usage: Decodable, Sendable {
        var inputTokens: Int?
        var outputTokens: Int?
        var cacheCreationInputTokens: Int?
        var cacheReadInputTokens: Int?

        private enum Keys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case cacheReadInputTokens = "cache_read_input_tokens"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.inputTokens = container.tokenCount(forKey: .inputTokens)
            self.outputTokens = container.tokenCount(forKey: .outputTokens)
            self.cacheCreationInputTokens = container.tokenCount(forKey: .cacheCreationInputTokens)
            self.cacheReadInputTokens = container.tokenCount(forKey: .cacheReadInputTokens)
        }

        /// Every prompt token, including those written to or read from the prompt cache.
        var inputTotal: Int {
            (self.inputTokens ?? 0) + (self.cacheCreationInputTokens ?? 0) + (self.cacheReadInputTokens ?? 0)
        }
    }
}
