import AIChatCore
import Foundation
import NIOCore
import Testing

@testable import AIChatBackend

/// Feeds recorded stream bodies to decoders in every way the network could cut them.
enum StreamFeeding {
    /// The events for `body` fed in one chunk, then `finish()`.
    static func whole(_ body: String, _ make: () -> any ProviderStreamDecoder) throws(ProviderError) -> [ProviderStreamEvent] {
        try self.feed([Array(body.utf8)], make)
    }

    static func feed(_ chunks: [[UInt8]], _ make: () -> any ProviderStreamDecoder) throws(ProviderError) -> [ProviderStreamEvent] {
        var decoder = make()
        var events: [ProviderStreamEvent] = []
        for chunk in chunks { events += try decoder.decode(chunk) }
        events += try decoder.finish()
        return events
    }

    /// Asserts that cutting the body in two at every byte index, and feeding it one byte at a time, gives the
    /// same events as feeding it whole; returns those events.
    @discardableResult
    static func expectSameAtEveryBoundary(
        _ body: String, _ make: () -> any ProviderStreamDecoder, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [ProviderStreamEvent] {
        let bytes = Array(body.utf8)
        let expected = try self.feed([bytes], make)
        for cut in 0...bytes.count {
            let events = try self.feed([Array(bytes[..<cut]), Array(bytes[cut...])], make)
            #expect(events == expected, "split at byte \(cut)", sourceLocation: sourceLocation)
            if events != expected { break }
        }
        let byteByByte = try self.feed(bytes.map { [$0] }, make)
        #expect(byteByByte == expected, "one byte at a time", sourceLocation: sourceLocation)
        return expected
    }

    /// Asserts that the body throws `error` however it is cut.
    static func expectErrorAtEveryBoundary(
        _ body: String, _ error: ProviderError, _ make: () -> any ProviderStreamDecoder, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let bytes = Array(body.utf8)
        for cut in 0...bytes.count {
            #expect(throws: error, "split at byte \(cut)", sourceLocation: sourceLocation) {
                try self.feed([Array(bytes[..<cut]), Array(bytes[cut...])], make)
            }
        }
    }

    /// The answer text and reasoning of a list of events, joined.
    static func texts(_ events: [ProviderStreamEvent]) -> (content: String, reasoning: String) {
        var content = ""
        var reasoning = ""
        for event in events {
            switch event {
                case .content(let text): content += text
                case .reasoning(let text): reasoning += text
                default: break
            }
        }
        return (content, reasoning)
    }
}

extension ProviderHTTPRequest {
    /// The body parsed as JSON, for comparing structure rather than bytes.
    func jsonBody() throws -> JSONValue {
        try JSONValue.parse(self.body)
    }
}

/// Builds JSON values for expectations without long `.object([...])` chains.
func json(_ text: String) throws -> JSONValue {
    try JSONValue.parse(Data(text.utf8))
}

enum ByteBufferSupport {
    static func buffer(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }
}
