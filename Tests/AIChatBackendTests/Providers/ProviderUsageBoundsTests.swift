import Testing

@testable import AIChatBackend

/// Token counts come from whatever server a connection points at, personal connections included: absurd or
/// negative values are held to a sane range instead of overflowing the sums made from them.
@Suite struct ProviderUsageBoundsTests {
    static let huge = "9223372036854775807"

    @Test func openAICountsAreBounded() throws {
        let body = """
            data: {"choices":[],"usage":{"prompt_tokens":\(Self.huge),"completion_tokens":\(Self.huge),"total_tokens":-5}}

            data: [DONE]


            """
        let usage = try #require(Self.usage(in: StreamFeeding.whole(body) { OpenAIStreamDecoder() }))
        #expect(usage.prompt == ProviderUsage.maximumCount)
        #expect(usage.completion == ProviderUsage.maximumCount)
        #expect(usage.total == 2 * ProviderUsage.maximumCount)
    }

    @Test func anthropicCountsAreBounded() throws {
        let body = """
            event: message_start
            data: {"type":"message_start","message":{"usage":{"input_tokens":\(Self.huge),"cache_creation_input_tokens":\(Self.huge),"cache_read_input_tokens":\(Self.huge),"output_tokens":1}}}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":\(Self.huge)}}

            event: message_stop
            data: {"type":"message_stop"}


            """
        let usage = try #require(Self.usage(in: StreamFeeding.whole(body) { AnthropicStreamDecoder() }))
        #expect(usage.prompt == 3 * ProviderUsage.maximumCount)
        #expect(usage.completion == ProviderUsage.maximumCount)
    }

    @Test func geminiAndOllamaCountsAreBounded() throws {
        let gemini = """
            data: {"candidates":[{"content":{"parts":[{"text":"hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":\(Self.huge),"candidatesTokenCount":\(Self.huge),"thoughtsTokenCount":\(Self.huge),"totalTokenCount":0}}


            """
        let fromGemini = try #require(Self.usage(in: StreamFeeding.whole(gemini) { GeminiStreamDecoder() }))
        #expect(fromGemini.completion == 2 * ProviderUsage.maximumCount)
        let ollama = #"{"message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":-3,"eval_count":\#(Self.huge)}"# + "\n"
        let fromOllama = try #require(Self.usage(in: StreamFeeding.whole(ollama) { OllamaStreamDecoder() }))
        #expect(fromOllama.prompt == 0)
        #expect(fromOllama.completion == ProviderUsage.maximumCount)
    }

    static func usage(in events: [ProviderStreamEvent]) -> ProviderUsage? {
        events.compactMap { if case .usage(let usage) = $0 { usage } else { nil } }.last
    }
}
