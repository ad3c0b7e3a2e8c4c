import Foundation

/// A request ready to send: the HTTP client layer only has to execute it.
public struct ProviderHTTPRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    /// How the answer's body is framed, so the caller can pick the decoder and the `Accept` header agrees.
    public enum ResponseFormat: Sendable, Equatable {
        case json
        /// `text/event-stream`; decode with ``ProviderStreamDecoders/make(for:)``.
        case serverSentEvents
        /// One JSON object per line (Ollama).
        case ndjson
    }

    public var method: Method
    public var url: String
    /// In sending order; names are unique (compared case-insensitively).
    public var headers: [(name: String, value: String)]
    public var body: Data
    public var responseFormat: ResponseFormat

    public init(method: Method, url: String, headers: [(name: String, value: String)], body: Data = Data(), responseFormat: ResponseFormat) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.responseFormat = responseFormat
    }

    /// The value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        self.headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

extension ProviderHTTPRequest: CustomStringConvertible {
    /// The method, the URL and the header names only: values may be credentials.
    public var description: String {
        "\(self.method.rawValue) \(self.url) [\(self.headers.map(\.name).joined(separator: ", "))] \(self.body.count) bytes"
    }
}

/// Builds the ordered header list: later values replace earlier ones of the same name, and every name and
/// value is checked before anything is sent.
struct HeaderList {
    private(set) var headers: [(name: String, value: String)] = []

    mutating func set(_ name: String, _ value: String) {
        self.headers.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        self.headers.append((name, value))
    }

    func validated() throws(ProviderError) -> [(name: String, value: String)] {
        for (name, value) in self.headers {
            guard Self.isToken(name), Self.isSafeValue(value) else { throw .invalidHeader(name: name) }
        }
        return self.headers
    }

    /// RFC 9110 `token`: visible ASCII except separators.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        return true
                    default:
                        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }

    /// No CR, LF, NUL or other control characters except horizontal tab.
    static func isSafeValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }
}
