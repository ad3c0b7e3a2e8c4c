/// Decodes Gemini `streamGenerateContent?alt=sse` streams.
///
/// Each event is a whole `GenerateContentResponse`: parts with `thought: true` are reasoning, the others answer
/// text. `usageMetadata` is repeated, cumulative, on many chunks, so it is held back and reported once, after
/// the finish reason (or when the stream ends). Gemini has no end marker: ``ProviderStreamEvent/done`` is
/// reported when the stream ends after a finish reason.
typealias GeminiStreamDecoder = FramedStreamDecoder<SSEReader, GeminiStreamPayloads>

extension GeminiStreamPayloads {
    /// `STOP` → `stop`, `MAX_TOKENS` → `length`, anything else lower-cased (`safety`, `recitation`, …).
    static func finishReason(_ reason: String) -> String {
        switch reason {
            case "STOP": "stop"
            case "MAX_TOKENS": "length"
            default: reason.lowercased()
        }
    }
}

struct GeminiStreamPayloads: StreamPayloadHandler {
    private var pendingUsage: ProviderUsage?
    private var finished = false

    mutating func handle(_ payload: ArraySlice<UInt8>, event: String?, into events: inout [ProviderStreamEvent]) throws(ProviderError) -> Bool {
        guard let chunk = ProviderJSON.decode(GeminiChunk.self, from: payload) else { return false }
        if let error = chunk.error { throw .upstream(status: nil, message: error.message) }
        if let candidate = chunk.candidates?.first {
            for part in candidate.content?.parts ?? [] {
                guard let text = part.text, !text.isEmpty else { continue }
                events.append(part.thought == true ? .reasoning(text) : .content(text))
            }
            if let reason = candidate.finishReason, !reason.isEmpty {
                events.append(.finish(reason: GeminiStreamPayloads.finishReason(reason)))
                self.finished = true
            }
        } else if let blocked = chunk.promptFeedback?.blockReason, !blocked.isEmpty {
            events.append(.finish(reason: blocked.lowercased()))
            self.finished = true
        }
        if let usage = chunk.usageMetadata?.usage, usage.isMeaningful { self.pendingUsage = usage }
        if self.finished, let usage = self.pendingUsage {
            events.append(.usage(usage))
            self.pendingUsage = nil
        }
        return true
    }

    mutating func finish(into events: inout [ProviderStreamEvent]) throws(ProviderError) {
        if let usage = self.pendingUsage {
            events.append(.usage(usage))
            self.pendingUsage = nil
        }
        if self.finished { events.append(.done) }
    }
}

/// A `GenerateContentResponse` (one stream event, or a whole answer).
struct GeminiChunk: Decodable, Sendable {
    var candidates: [Candidate]?
    var usageMetadata: UsageMetadata?
    var promptFeedback: PromptFeedback?
    var error: UpstreamErrorBody?

    private enum Keys: String, CodingKey {
        case candidates, usageMetadata, promptFeedback, error
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        self.candidates = container.lenientValue([Candidate].self, forKey: .candidates)
        self.usageMetadata = container.lenientValue(UsageMetadata.self, forKey: .usageMetadata)
        self.promptFeedback = container.lenientValue(PromptFeedback.self, forKey: .promptFeedback)
        self.error = container.lenientValue(UpstreamErrorBody.self, forKey: .error)
    }

    struct Candidate: Decodable, Sendable {
        var content: Content?
        var finishReason: String?

        private enum Keys: String, CodingKey {
            case content, finishReason
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.content = container.lenientValue(Content.self, forKey: .content)
            self.finishReason = container.lenientValue(String.self, forKey: .finishReason)
        }
    }

    struct Content: Decodable, Sendable {
        var parts: [Part]?

        private enum Keys: String, CodingKey {
            case parts
        }

        init(from decoder: any Decoder) throws {
            self.parts = try decoder.container(keyedBy: Keys.self).lenientValue([Part].self, forKey: .parts)
        }
    }

    struct Part: Decodable, Sendable {
        var text: String?
        var thought: Bool?

        private enum Keys: String, CodingKey {
            case text, thought
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.text = container.lenientValue(String.self, forKey: .text)
            self.thought = container.lenientValue(Bool.self, forKey: .thought)
        }
    }

    struct PromptFeedback: Decodable, Sendable {
        var blockReason: String?

        private enum Keys: String, CodingKey {
            case blockReason
        }

        init(from decoder: any Decoder) throws {
            self.blockReason = try decoder.container(keyedBy: Keys.self).lenientValue(String.self, forKey: .blockReason)
        }
    }

    struct UsageMetadata: Decodable, Sendable {
        var promptTokenCount: Int?
        var candidatesTokenCount: Int?
        var thoughtsTokenCount: Int?
        var totalTokenCount: Int?

        private enum Keys: String, CodingKey {
            case promptTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            self.promptTokenCount = container.tokenCount(forKey: .promptTokenCount)
            self.candidatesTokenCount = container.tokenCount(forKey: .candidatesTokenCount)
            self.thoughtsTokenCount = container.tokenCount(forKey: .thoughtsTokenCount)
            self.totalTokenCount = container.tokenCount(forKey: .totalTokenCount)
        }

        /// Thinking tokens are billed as output, so they count as completion tokens.
        var usage: ProviderUsage {
            let prompt = self.promptTokenCount ?? 0
            let completion = (self.candidatesTokenCount ?? 0) + (self.thoughtsTokenCount ?? 0)
            let total = self.totalTokenCount ?? 0
            return ProviderUsage(prompt: prompt, completion: completion, total: total > 0 ? total : prompt + completion)
        }
    }
}
