import NIOCore

/// Token counts reported by a provider (or estimated), in OpenAI's terms: prompt = input, completion = output
/// including any reasoning.
public struct ProviderUsage: Sendable, Equatable {
    public var prompt: Int
    public var completion: Int
    public var total: Int

    /// The largest count taken from a provider (2^40, far beyond any real context window).
    public static let maximumCount = 1 << 40

    public init(prompt: Int, completion: Int, total: Int? = nil) {
        self.prompt = prompt
        self.completion = completion
        self.total = total ?? prompt + completion
    }

    /// Whether the provider said anything: providers send all-zero usage objects before they know the counts.
    public var isMeaningful: Bool { self.prompt > 0 || self.completion > 0 || self.total > 0 }
}

/// One provider-neutral event decoded from a provider's stream.
public enum ProviderStreamEvent: Sendable, Equatable {
    /// Visible answer text (reasoning tags inside it are left for ``ReasoningTagExtractor``).
    case content(String)
    /// Reasoning text the provider marked as such (`reasoning_content`, `thinking`, thought parts).
    case reasoning(String)
    /// Why generation stopped, normalised where providers differ: `stop`, `length`, `tool_calls`, or the
    /// provider's own lower-cased reason.
    case finish(reason: String)
    case usage(ProviderUsage)
    /// The provider's explicit end marker (`[DONE]`, `message_stop`, `done: true`, a Gemini finish reason).
    /// A stream that ends without it may have been cut off.
    case done
}

/// Decodes one provider's streaming body into ``ProviderStreamEvent``s.
///
/// Feed it the body's byte chunks exactly as they arrive: lines and UTF-8 characters may be split across
/// chunks anywhere. Call ``finish()`` once when the body ends, for a last line without a line break.
/// A line that is not valid JSON is skipped and counted in ``malformedLines``; an error object from the
/// provider throws ``ProviderError/upstream(status:message:)``.
public protocol ProviderStreamDecoder: Sendable {
    mutating func decode(_ bytes: some Sequence<UInt8>) throws(ProviderError) -> [ProviderStreamEvent]
    mutating func finish() throws(ProviderError) -> [ProviderStreamEvent]
    /// Lines skipped because they could not be parsed.
    var malformedLines: Int { get }
}

extension ProviderStreamDecoder {
    public mutating func decode(_ buffer: ByteBuffer) throws(ProviderError) -> [ProviderStreamEvent] {
        try self.decode(buffer.readableBytesView)
    }
}

/// Picks the decoder for a provider.
public enum ProviderStreamDecoders {
    public static func make(for kind: ProviderKind) -> any ProviderStreamDecoder {
        switch kind {
            case .openai, .azureOpenAI: OpenAIStreamDecoder()
            case .ollama: OllamaStreamDecoder()
            case .anthropic: AnthropicStreamDecoder()
            case .google: GeminiStreamDecoder()
        }
    }
}
