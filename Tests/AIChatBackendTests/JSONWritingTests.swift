import AIChatCore
import Foundation
import NIOCore
import Testing

/// The hand-written JSON writer used for provider requests and stream events agrees with Foundation's encoder.
@Suite struct JSONWritingTests {
    static let samples: [JSONValue] = [
        .null, .bool(true), .number(0), .number(-42), .number(0.7), .number(1e20), .number(123_456_789_012),
        .string(""), .string("plain"), .string("quote \" backslash \\ slash / newline \n tab \t cr \r bell \u{07} nul \u{0}"),
        .string("多字节 😀 e\u{301}"), .array([]), .array([.number(1), .string("two"), .null]),
        .object([:]),
        .object(["model": .string("gpt"), "messages": .array([.object(["role": .string("user"), "content": .string("hi")])]), "stream": .bool(true)]),
    ]

    @Test func readsBackAsTheSameValue() throws {
        for value in Self.samples {
            let text = String(buffer: value.encoded())
            #expect(try JSONValue.parse(Data(text.utf8)) == value, "\(text)")
        }
    }

    @Test func sortedOutputMatchesFoundationByteForByte() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for value in Self.samples {
            let ours = String(buffer: value.encoded(sortedKeys: true))
            let foundation = String(decoding: try encoder.encode(value), as: UTF8.self)
            #expect(ours == foundation)
        }
        #expect(String(buffer: JSONValue.number(Double.nan).encoded()) == "null")
    }
}
