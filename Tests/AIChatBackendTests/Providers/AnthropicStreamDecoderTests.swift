import Testing

@testable import AIChatBackend

@Suite struct AnthropicStreamDecoderTests {
    let make: () -> any ProviderStreamDecoder = { AnthropicStreamDecoder() }

    /// A recorded-style Messages stream with extended thinking: thinking block (with signature), text block,
    /// pings, stop reason and usage.
    static let recorded = #"""
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"A haiku about autumn…"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Autumn moonlight—"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"\na worm digs silently 🍂"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":42}}

        event: message_stop
        data: {"type":"message_stop"}


        """#

    @Test func recordedStreamGivesTheSameEventsHoweverItIsCut() throws {
        let events = try StreamFeeding.expectSameAtEveryBoundary(Self.recorded, self.make)
        #expect(
            events == [
                .reasoning("A haiku about autumn…"), .content("Autumn moonlight—"), .content("\na worm digs silently 🍂"),
                .finish(reason: "stop"), .usage(ProviderUsage(prompt: 35, completion: 42, total: 77)), .done,
            ]
        )
    }

    @Test func stopReasonsAreMappedToTheCommonNames() throws {
        for (reason, expected) in [("max_tokens", "length"), ("stop_sequence", "stop"), ("tool_use", "tool_calls"), ("refusal", "refusal")] {
            let body = "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"\(reason)\"},\"usage\":{\"output_tokens\":3}}\n\n"
            #expect(try StreamFeeding.whole(body, self.make) == [.finish(reason: expected), .usage(ProviderUsage(prompt: 0, completion: 3))])
        }
    }

    /// The event name alone identifies the event when the payload has no `type`.
    @Test func theEventNameIsUsedWhenThePayloadHasNoType() throws {
        let body = "event: content_block_delta\ndata: {\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\nevent: message_stop\ndata: {}\n\n"
        #expect(try StreamFeeding.expectSameAtEveryBoundary(body, self.make) == [.content("hi"), .done])
    }

    @Test func errorEventsThrow() {
        let body = """
            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"par"}}

            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}


            """
        StreamFeeding.expectErrorAtEveryBoundary(body, .upstream(status: nil, message: "Overloaded"), self.make)
    }

    @Test func malformedLinesAreSkippedAndCounted() throws {
        let body = """
            event: content_block_delta
            data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"ok"}

            event: content_block_delta
            data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"fine"}}


            """
        var decoder = AnthropicStreamDecoder()
        let events = try decoder.decode(Array(body.utf8)) + decoder.finish()
        #expect(events == [.content("fine")])
        #expect(decoder.malformedLines == 1)
        try StreamFeeding.expectSameAtEveryBoundary(body, self.make)
    }
}
