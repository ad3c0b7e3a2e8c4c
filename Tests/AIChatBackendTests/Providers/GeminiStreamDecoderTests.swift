import Testing

@testable import AIChatBackend

@Suite struct GeminiStreamDecoderTests {
    let make: () -> any ProviderStreamDecoder = { GeminiStreamDecoder() }

    /// A recorded-style `streamGenerateContent?alt=sse` body (CRLF framed) with thought summaries.
    static let recorded =
        #"data: {"candidates": [{"content": {"parts": [{"text": "**Greeting the user**\nThey said hello.","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 60,"thoughtsTokenCount": 51},"modelVersion": "gemini-2.5-flash","responseId": "r1"}"#
        + "\r\n\r\n"
        + #"data: {"candidates": [{"content": {"parts": [{"text": "Hello"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 1,"totalTokenCount": 61,"thoughtsTokenCount": 51},"modelVersion": "gemini-2.5-flash","responseId": "r1"}"#
        + "\r\n\r\n"
        + #"data: {"candidates": [{"content": {"parts": [{"text": " there! 👋 こんにちは"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 4,"totalTokenCount": 64,"thoughtsTokenCount": 51},"modelVersion": "gemini-2.5-flash","responseId": "r1"}"#
        + "\r\n\r\n"

    @Test func recordedStreamGivesTheSameEventsHoweverItIsCut() throws {
        let events = try StreamFeeding.expectSameAtEveryBoundary(Self.recorded, self.make)
        #expect(
            events == [
                .reasoning("**Greeting the user**\nThey said hello."), .content("Hello"), .content(" there! 👋 こんにちは"), .finish(reason: "stop"),
                .usage(ProviderUsage(prompt: 9, completion: 55, total: 64)), .done,
            ]
        )
    }

    @Test func finishReasonsAreMapped() throws {
        for (reason, expected) in [("MAX_TOKENS", "length"), ("SAFETY", "safety"), ("RECITATION", "recitation")] {
            let body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"\(reason)\"}]}\n\n"
            #expect(try StreamFeeding.whole(body, self.make) == [.content("x"), .finish(reason: expected), .done])
        }
    }

    /// Without a finish reason the stream may have been cut: usage is still reported, but not the end marker.
    @Test func aStreamWithoutFinishReasonHasNoEndMarker() throws {
        let body =
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}],\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":1}}\n\n"
        #expect(try StreamFeeding.expectSameAtEveryBoundary(body, self.make) == [.content("x"), .usage(ProviderUsage(prompt: 2, completion: 1))])
    }

    @Test func aBlockedPromptFinishesWithItsReason() throws {
        let body =
            #"data: {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},"usageMetadata": {"promptTokenCount": 7,"totalTokenCount": 7}}"# + "\n\n"
        #expect(
            try StreamFeeding.whole(body, self.make) == [
                .finish(reason: "prohibited_content"), .usage(ProviderUsage(prompt: 7, completion: 0, total: 7)), .done,
            ])
    }

    @Test func errorsThrowAndMalformedLinesAreCounted() throws {
        let error =
            #"data: {"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"# + "\n\n"
        StreamFeeding.expectErrorAtEveryBoundary(
            error, .upstream(status: nil, message: "The model is overloaded. Please try again later."), self.make)
        let body =
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\n\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}]}}]}\n\n"
        var decoder = GeminiStreamDecoder()
        #expect(try decoder.decode(Array(body.utf8)) + decoder.finish() == [.content("ok")])
        #expect(decoder.malformedLines == 1)
    }
}
