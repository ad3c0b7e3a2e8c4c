import Foundation

/// Why a provider request could not be built or its answer could not be used.
///
/// ``publicMessage`` is what a user may see: it never contains keys, tokens or URLs with query strings,
/// because upstream error texts sometimes echo them back.
public enum ProviderError: Error, Sendable, Equatable {
    /// The provider answered with an error: an HTTP status (nil when the error arrived inside a stream) and its message.
    case upstream(status: Int?, message: String)
    /// A header name or value that would break the request (CR, LF, NUL, or a name that is not a token).
    case invalidHeader(name: String)
    /// The key or token contains characters that cannot be sent in a header.
    case invalidCredential
    /// The base URL is not an absolute http(s) URL.
    case invalidBaseURL
    /// The request cannot be expressed (no model, a value JSON cannot carry).
    case invalidRequest(String)
    /// A stream line grew past the limit without a line break.
    case lineTooLong(limit: Int)
    /// A non-stream answer that is not the JSON the provider documents.
    case malformedResponse(String)

    public var publicMessage: String {
        switch self {
            case .upstream(let status?, let message):
                let reason = Self.reasonPhrases[status] ?? ""
                let head = reason.isEmpty ? "AI API request failed: \(status)" : "AI API request failed: \(status) \(reason)"
                let detail = Self.sanitized(message)
                return detail.isEmpty ? head : "\(head): \(detail)"
            case .upstream(nil, let message):
                let detail = Self.sanitized(message)
                return detail.isEmpty ? "AI provider error" : "AI provider error: \(detail)"
            case .invalidHeader(let name):
                return "Invalid header \(Self.sanitized(name, limit: 64)): names must be tokens and values must not contain line breaks"
            case .invalidCredential: return "The API key contains characters that cannot be sent"
            case .invalidBaseURL: return "The connection's base URL must be an absolute http(s) URL"
            case .invalidRequest(let what): return "Invalid provider request: \(what)"
            case .lineTooLong(let limit): return "The provider sent a line longer than \(limit) bytes"
            case .malformedResponse(let what): return "The provider's answer could not be read: \(Self.sanitized(what))"
        }
    }

    /// ``publicMessage`` with each of `secrets` (keys, tokens) also masked wherever it appears.
    public func publicMessage(redacting secrets: [String]) -> String {
        var message = self.publicMessage
        for secret in secrets where secret.count >= 4 {
            message = message.replacingOccurrences(of: secret, with: "***")
        }
        return message
    }

    /// Whether the same request may be sent again: the provider refused it for now (429 rate limit, 502 bad gateway,
    /// 503 overloaded) without working on it. Other failures may have reached the model, and are not repeated.
    public var isRetryable: Bool {
        guard case .upstream(let status?, _) = self else { return false }
        return Self.retryableStatuses.contains(status)
    }

    static let retryableStatuses: Set<Int> = [429, 502, 503]

    /// Shortens a provider text and masks anything that looks like a credential or a URL query.
    static func sanitized(_ text: String, limit: Int = 500) -> String {
        let space: Unicode.Scalar = " "
        let flat = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? space : $0 }))
        let masked = flat.split(separator: " ").map(Self.maskedWord).joined(separator: " ")
        var result = masked.trimmingCharacters(in: .whitespaces)
        if result.count > limit { result = String(result.prefix(limit)) + "…" }
        return result
    }

    static let reasonPhrases: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type",
        422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
    ]

    private static let secretPrefixes = ["sk-", "sk_", "AIza", "xai-", "gsk_", "ghp_", "github_pat_", "hf_", "eyJ"]

    private static func maskedWord(_ word: Substring) -> Substring {
        let core = word.trimmingCharacters(in: CharacterSet(charactersIn: "\"'`()[]{}<>,.;:"))
        if core.hasPrefix("http://") || core.hasPrefix("https://"), let query = word.firstIndex(of: "?") {
            return word[..<query] + "?…"
        }
        let alnum = core.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.count
        if core.count >= 16, Self.secretPrefixes.contains(where: { core.hasPrefix($0) }) { return "***" }
        if core.count >= 32, alnum * 10 >= core.count * 9, !core.contains(where: \.isWhitespace),
            core.contains(where: \.isNumber), core.contains(where: \.isLetter)
        {
            return "***"
        }
        for marker in ["key=", "token=", "api-key=", "api_key=", "secret=", "signature=", "sig="] {
            if let range = word.range(of: marker, options: .caseInsensitive) {
                return word[..<range.upperBound] + "***"
            }
        }
        return word
    }
}
