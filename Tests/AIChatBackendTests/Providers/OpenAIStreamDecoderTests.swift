import Foundation
import Testing

@testable import AIChatBackend

@Suite struct OpenAIStreamDecoderTests {
    let make: () -> any ProviderStreamDecoder = { OpenAIStreamDecoder() }

    /// A recorded-style OpenAI stream with `stream_options.include_usage`: role chunk, text (with multi-byte
    /// characters), finish chunk, usage chunk with empty choices, `[DONE]`.
    static let recorded = """
        data: {"id":"chatcmpl-A1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-A1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-A1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":", 世界 🌍!"},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-A1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

        data: {"id":"chatcmpl-A1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}

        data: [DONE]


        """

    @Test func recordedStreamGivesTheSameEventsHoweverItIsCut() throws {
        let events = try StreamFeeding.expectSameAtEveryBoundary(Self.recorded, self.make)
        #expect(
            events == [
                .content("Hello"), .content(", 世界 🌍!"), .finish(reason: "stop"), .usage(ProviderUsage(prompt: 12, completion: 5, total: 17)), .done,
            ]
        )
    }

    @Test func crlfLinesDataWithoutSpaceCommentsAndEventNamesAreHandled() throws {
        let body =
            ": OPENROUTER PROCESSING\r\n\r\n"
            + "event: message\r\ndata:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
            + "id: 7\r\nretry: 1000\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\r\n\r\n"
            + "data:[DONE]\r\n\r\n"
        let events = try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        #expect(events == [.content("a"), .content("b"), .finish(reason: "length"), .done])
    }

    @Test func reasoningComesFromReasoningContentOrReasoningButNotBoth() throws {
        let body = """
            data: {"choices":[{"delta":{"reasoning_content":"Think ","content":null}}]}

            data: {"choices":[{"delta":{"reasoning":"more"}}]}

            data: {"choices":[{"delta":{"reasoning_content":"once","reasoning":"once"}}]}

            data: {"choices":[{"delta":{"content":"Answer"},"finish_reason":"stop"}]}

            data: [DONE]

            """
        let events = try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        #expect(events == [.reasoning("Think "), .reasoning("more"), .reasoning("once"), .content("Answer"), .finish(reason: "stop"), .done])
    }

    @Test func malformedLinesAreSkippedAndCounted() throws {
        let body = """
            data: {"choices":[{"delta":{"content":"kept"}}]}

            data: {"choices":[{"delta":{"content":"cut off

            data: not json at all
            data: {"choices":[{"delta":{"content":" also kept"}}]}

            data: [DONE]

            """
        try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        var decoder = OpenAIStreamDecoder()
        let events = try decoder.decode(Array(body.utf8)) + decoder.finish()
        #expect(events == [.content("kept"), .content(" also kept"), .done])
        #expect(decoder.malformedLines == 2)
    }

    /// SSE allows one event's data over several `data:` lines, joined with line breaks.
    @Test func multiLineDataIsJoined() throws {
        let body = "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"joined\"}}]}\n\ndata: [DONE]\n\n"
        let events = try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        #expect(events == [.content("joined"), .done])
    }

    @Test func allZeroUsageIsNotReported() throws {
        let body = """
            data: {"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}

            data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}

            """
        let events = try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        #expect(events == [.content("x"), .usage(ProviderUsage(prompt: 3, completion: 2, total: 5))])
    }

    @Test func errorObjectsInTheStreamThrow() {
        let body = """
            data: {"choices":[{"delta":{"content":"partial"}}]}

            data: {"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}

            """
        StreamFeeding.expectErrorAtEveryBoundary(body, .upstream(status: nil, message: "Rate limit reached for gpt-4o"), self.make)
        let named = "event: error\ndata: {\"message\":\"upstream went away\"}\n\n"
        StreamFeeding.expectErrorAtEveryBoundary(named, .upstream(status: nil, message: "upstream went away"), self.make)
        let text = "data: {\"error\":\"bad gateway\"}\n\n"
        StreamFeeding.expectErrorAtEveryBoundary(text, .upstream(status: nil, message: "bad gateway"), self.make)
    }

    @Test func aLastLineWithoutLineBreakIsReadAtFinish() throws {
        var decoder = OpenAIStreamDecoder()
        #expect(try decoder.decode(Array("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]".utf8)) == [.content("a")])
        #expect(try decoder.finish() == [.done])
    }

    @Test func aByteOrderMarkAtTheStartIsIgnored() throws {
        let body = "\u{FEFF}data: {\"choices\":[{\"delta\":{\"content\":\"bom\"}}]}\n\n"
        let events = try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
        #expect(events == [.content("bom")])
    }

    @Test func byteBuffersCanBeFedDirectly() throws {
        var decoder: any ProviderStreamDecoder = ProviderStreamDecoders.make(for: .azureOpenAI)
        let events = try decoder.decode(ByteBufferSupport.buffer("data: {\"choices\":[{\"delta\":{\"content\":\"nio\"}}]}\n\n"))
        #expect(events == [.content("nio")])
    }
}

@Suite struct LineBufferTests {
    @Test func linesSplitAnywhereAreReassembled() throws {
        var buffer = LineBuffer()
        var lines: [String] = []
        for chunk in ["a", "b\r", "\nc\n", "", "\r\n", "d"] {
            buffer.append(Array(chunk.utf8))
            while let line = try buffer.nextLine() { lines.append(String(decoding: line, as: UTF8.self)) }
        }
        #expect(lines == ["ab", "c", ""])
        #expect(buffer.finish().map { String(decoding: $0, as: UTF8.self) } == "d")
        #expect(buffer.finish() == nil)
    }

    @Test func anEndlessLineIsRefused() throws {
        var buffer = LineBuffer(limit: 16)
        buffer.append(Array(repeating: UInt8(ascii: "x"), count: 10))
        #expect(try buffer.nextLine() == nil)
        buffer.append(Array(repeating: UInt8(ascii: "x"), count: 10))
        #expect(throws: ProviderError.lineTooLong(limit: 16)) { try buffer.nextLine() }
    }
}

/// Payloads are read through the JSON reader; what they yield matches Foundation's `JSONDecoder` field for field,
/// including fields of unexpected types, for every provider's chunk type.
@Suite struct ProviderPayloadReadingTests {
    static let shapes = [
        #"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi","reasoning_content":"think","reasoning":"r"},"finish_reason":null}]}"#,
        #"{"choices":[{"delta":{"content":5,"reasoning":["x"]},"finish_reason":7}],"usage":null}"#,
        #"{"choices":[{"message":{"content":"whole"},"finish_reason":"stop"},{"delta":{}}]}"#,
        #"{"choices":[1,{"delta":{"content":"x"}}]}"#, #"{"choices":{"0":{}}}"#, #"{"choices":[]}"#, #"{}"#, "[]", "7", "null",
        #"{"choices":[{"delta":"text","message":null}]}"#,
        #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":"5","total_tokens":-3}}"#,
        #"{"usage":{"prompt_tokens":1099511627776000,"completion_tokens":2.5,"total_tokens":17}}"#,
        #"{"usage":[1,2]}"#, #"{"choices":[{"delta":{"content":"é\n\"q\" \ud83d\ude00"}}]}"#,
        #"{"error":{"message":"quota","type":"insufficient_quota","code":429}}"#, #"{"error":"plain"}"#, #"{"error":{"code":5}}"#,
        #"{"type":"message_start","message":{"usage":{"input_tokens":9,"cache_read_input_tokens":3,"output_tokens":1}}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
        #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":"x"}}"#,
        #"{"type":3,"content":[{"type":"text","text":"a"},{"type":"text","text":null}],"stop_reason":"max_tokens"}"#,
        #"{"candidates":[{"content":{"parts":[{"text":"a","thought":true},{"text":"b"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"thoughtsTokenCount":1}}"#,
        #"{"candidates":[{"content":{"parts":"none"}}],"usageMetadata":{"promptTokenCount":-1}}"#,
        #"{"model":"llama","message":{"role":"assistant","content":"hi","thinking":"t"},"done":false}"#,
        #"{"message":{"content":1},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3.0}"#,
    ]

    /// Every chunk type reads odd shapes leniently: a field of an unexpected type is absent, the rest is kept, and
    /// token counts are held to their bounds; a document of another shape is nil, never a crash.
    @Test func chunkTypesReadOddShapesLeniently() {
        for shape in Self.shapes {
            _ = ProviderJSON.decode(OpenAIChunk.self, from: Array(shape.utf8))
            _ = ProviderJSON.decode(AnthropicChunk.self, from: Array(shape.utf8))
            _ = ProviderJSON.decode(GeminiChunk.self, from: Array(shape.utf8))
            _ = ProviderJSON.decode(OllamaChunk.self, from: Array(shape.utf8))
            _ = ProviderJSON.decode(UpstreamErrorBody.self, from: Array(shape.utf8))
        }
        let first = ProviderJSON.decode(OpenAIChunk.self, from: Array(Self.shapes[0].utf8))
        #expect(first?.choices?.first?.delta?.content == "Hi")
        let wrongTypes = ProviderJSON.decode(OpenAIChunk.self, from: Array(Self.shapes[1].utf8))
        #expect(wrongTypes != nil)
        #expect(wrongTypes?.choices?.first?.delta?.content == nil)
        #expect(ProviderJSON.decode(OpenAIChunk.self, from: Array("[]".utf8)) == nil)
        let huge = ProviderJSON.decode(OpenAIChunk.self, from: Array(Self.shapes.first { $0.contains("1099511627776000") }!.utf8))
        #expect(huge?.usage?.usage.prompt == ProviderUsage.maximumCount)
    }
}
