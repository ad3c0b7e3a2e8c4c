import AIChatCore
import Foundation
import NIOCore
import Testing

/// The JSON reader behind request bodies and stored JSON columns (Foundation's `JSONDecoder`): what it takes and refuses.
@Suite struct JSONReadingTests {
    static func parse(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }

    @Test func readsWhatFoundationReads() throws {
        let documents = [
            #"{"sessionId": 12, "content": "hi", "images": [], "reasoningEnabled": true, "x": null}"#,
            #"  [1, -0, 2.5, -3e2, 1E-2, 0.125e+1, 12345678901234]  "#,
            #""esc \" \\ \/ \b \f \n \r \t \u00e9 \u4E2D \ud83d\ude00 end""#,
            #"{"nested": {"deeper": [[], {}, [{"a": [false]}]]}, "empty": ""}"#,
            "\"多字节 😀 e\u{301}\"", "true", "null", "0", "\n\t{ }\r\n",
        ]
        for text in documents {
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(try Self.parse(text) == foundation, "\(text)")
        }
        #expect(try Self.parse(#""\ud83d\ude00""#) == .string("😀"))
        // A repeated key keeps one of its values (Foundation keeps the first).
        #expect(try Self.parse(#"{"a": 1, "a": 2}"#)["a"] != nil)
        // From a buffer, only its readable bytes.
        var buffer = ByteBuffer(string: #"[[{"k": [1]}"#)
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try JSONValue.parse(buffer) == .object(["k": .array([.number(1)])]))
    }

    @Test func refusesWhatIsNotJSON() throws {
        let documents = [
            "", " ", "{", "}", #"{"a" 1}"#, #"{a: 1}"#, "01", "1.", ".5", "+1", "-", "1e", "1e+",
            "NaN", "Infinity", "1e999", "tru", "nul", "[1] [2]", #""unterminated"#, "\"tab\there\"", #""bad \x escape""#,
            #""\u12""#, #""\ud800""#, #""\ud800\u0041""#, #""\udc00""#, "'single'", "[1 2]", "{\"a\":1}x",
        ]
        for text in documents {
            #expect(throws: (any Error).self, "\(text)") { try Self.parse(text) }
        }
        // Foundation forgives a trailing comma; nothing else is read differently.
        #expect(try Self.parse("[1,]") == .array([.number(1)]))
        // Bytes that are not UTF-8 inside a string.
        #expect(throws: (any Error).self) { try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
    }

    @Test func nestingIsBounded() throws {
        let allowed = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try Self.parse(allowed) != .null)
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try Self.parse(deep) }
        let deepObjects = String(repeating: #"{"a":"#, count: 513) + "1" + String(repeating: "}", count: 513)
        #expect(throws: (any Error).self) { try Self.parse(deepObjects) }
    }
}
