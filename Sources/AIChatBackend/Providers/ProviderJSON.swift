import AIChatCore
import Foundation

/// Decoding helpers shared by the stream decoders and response parsers.
///
/// Payloads are decoded into small `Decodable` structs that read only the fields used here: unknown fields are
/// skipped without building values, and a field of an unexpected type is treated as absent instead of making
/// the whole chunk unreadable (providers differ in what they put where).
enum ProviderJSON {
    /// The decoded document, or nil when the bytes are not JSON of that shape.
    ///
    /// Foundation's `JSONDecoder` straight into the chunk types: measured against the project's own reader (a value
    /// tree, then a decoder over it) on OpenAI content chunks it took the same time, about 5.2 µs per chunk in a
    /// release build on this machine, so the own reader was removed.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) -> T? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Whether the payload is exactly `[DONE]` (surrounding spaces allowed).
    static func isDoneMarker(_ payload: ArraySlice<UInt8>) -> Bool {
        var slice = payload
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice.elementsEqual("[DONE]".utf8)
    }
}

extension KeyedDecodingContainer {
    /// The value when present and of the expected type, otherwise nil.
    func lenientValue<T: Decodable>(_ type: T.Type, forKey key: Key) -> T? {
        (try? self.decodeIfPresent(type, forKey: key)) ?? nil
    }

    /// A token count as a provider reports it, held to `0...ProviderUsage.maximumCount`: the sums made from it
    /// cannot overflow, whatever the server behind a connection sends.
    func tokenCount(forKey key: Key) -> Int? {
        self.lenientValue(Int.self, forKey: key).map { min(max($0, 0), ProviderUsage.maximumCount) }
    }
}

/// A provider's error object: `{"error": "text"}` or `{"error": {"message": …, "type": …, "code": …}}`.
struct UpstreamErrorBody: Decodable, Sendable {
    var message: String

    private enum Keys: String, CodingKey {
        case message, type, code, status, error
    }

    init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            self.message = text
            return
        }
        let container = try decoder.container(keyedBy: Keys.self)
        let code = container.lenientValue(Int.self, forKey: .code).map(String.init) ?? container.lenientValue(String.self, forKey: .code)
        let candidates = [
            container.lenientValue(String.self, forKey: .message),
            container.lenientValue(UpstreamErrorBody.self, forKey: .error)?.message,
            container.lenientValue(String.self, forKey: .type),
            container.lenientValue(String.self, forKey: .status),
            code,
        ]
        self.message = candidates.compactMap { $0 }.first { !$0.isEmpty } ?? "unknown error"
    }
}

/// Only the `error` member of a document, to recognise error payloads of any provider.
struct ErrorEnvelope: Decodable, Sendable {
    var error: UpstreamErrorBody?
}
