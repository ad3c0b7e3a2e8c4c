import Testing

@testable import AIChatBackend

@Suite struct OllamaStreamDecoderTests {
    let make: () -> any ProviderStreamDecoder = { OllamaStreamDecoder() }

    /// A recorded-style `/api/chat` NDJSON stream of a thinking model with `think: true`.
    static let recorded = #"""
        {"model":"qwen3:8b","created_at":"2025-05-01T10:00:00.000000Z","message":{"role":"assistant","content":"","thinking":"The user says hi."},"done":false}
        {"model":"qwen3:8b","created_at":"2025-05-01T10:00:00.100000Z","message":{"role":"assistant","content":"","thinking":" Reply kindly."},"done":false}
        {"model":"qwen3:8b","created_at":"2025-05-01T10:00:00.200000Z","message":{"role":"assistant","content":"你好！"},"done":false}
        {"model":"qwen3:8b","created_at":"2025-05-01T10:00:00.300000Z","message":{"role":"assistant","content":" How can I help? 😊"},"done":false}
        {"model":"qwen3:8b","created_at":"2025-05-01T10:00:00.400000Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":512000000,"load_duration":21000000,"prompt_eval_count":26,"prompt_eval_duration":40000000,"eval_count":290,"eval_duration":450000000}

        """#

    @Test func recordedStreamGivesTheSameEventsHoweverItIsCut() throws {
        let events = try StreamFeeding.expectSameAtEveryBoundary(Self.recorded, self.make)
        #expect(
            events == [
                .reasoning("The user says hi."), .reasoning(" Reply kindly."), .content("你好！"), .content(" How can I help? 😊"),
                .finish(reason: "stop"), .usage(ProviderUsage(prompt: 26, completion: 290, total: 316)), .done,
            ]
        )
    }

    @Test func missingReasonAndCachedPromptCountsHaveDefaults() throws {
        let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\r\n\r\n{\"message\":{\"content\":\"\"},\"done\":true,\"eval_count\":4}"
        let events = try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        #expect(events == [.content("a"), .finish(reason: "stop"), .usage(ProviderUsage(prompt: 0, completion: 4, total: 4)), .done])
    }

    @Test func lengthLimitedAnswersReportLength() throws {
        let body = #"{"message":{"content":"x"},"done":true,"done_reason":"length","prompt_eval_count":1,"eval_count":1}"# + "\n"
        #expect(
            try StreamFeeding.whole(body, self.make) == [
                .content("x"), .finish(reason: "length"), .usage(ProviderUsage(prompt: 1, completion: 1)), .done,
            ])
    }

    @Test func malformedLinesAreSkippedAndCounted() throws {
        let body = """
            {"message":{"content":"one"},"done":false}
            {"message":{"content":"tw
            data: {"message":{"content":"sse"}}
            {"message":{"content":"three"},"done":false}

            """
        try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        var decoder = OllamaStreamDecoder()
        let events = try decoder.decode(Array(body.utf8)) + decoder.finish()
        #expect(events == [.content("one"), .content("three")])
        #expect(decoder.malformedLines == 2)
    }

    @Test func errorLinesThrow() {
        let body = """
            {"message":{"content":"partial"},"done":false}
            {"error":"model 'llama9' not found, try pulling it first"}

            """
        StreamFeeding.expectErrorAtEveryBoundary(body, .upstream(status: nil, message: "model 'llama9' not found, try pulling it first"), self.make)
        StreamFeeding.expectErrorAtEveryBoundary(#"{"error":"out of memory"}"#, .upstream(status: nil, message: "out of memory"), self.make)
    }
}
