import HTTPTypes
import Hummingbird
import NIOCore

/// An error that becomes an API envelope response: `{"success":false,"error":"<message>"}`.
///
/// `error` is always a string. Validation failures may add `details`, one entry per offending field.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Detail: Codable, Sendable, Equatable {
        public let field: String
        public let message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var status: HTTPResponse.Status
    public var message: String
    public var details: [Detail]?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, details: [Detail]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var description: String { "APIError(\(self.status.code)): \(self.message)" }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    public static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, message) }
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }

    /// 429 with `Retry-After` in whole seconds (at least one).
    public static func tooManyRequests(_ message: String, retryAfterSeconds: Int) -> APIError {
        APIError(.tooManyRequests, message, headers: [.retryAfter: String(max(1, retryAfterSeconds))])
    }

    /// A field failed validation; the message names the field.
    public static func invalidField(_ field: String, _ problem: String) -> APIError {
        APIError(.badRequest, "\(field) \(problem)", details: [Detail(field: field, message: problem)])
    }

    public func response() -> Response {
        struct Body: Encodable {
            let success = false
            let error: String
            let details: [Detail]?
        }
        var response = JSONResponse.make(status: self.status, Body(error: self.message, details: self.details))
        response.headers.append(contentsOf: self.headers)
        return response
    }
}
