import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

extension Request {
    /// Reads the body as a JSON object, answering 400 for a wrong content type or malformed JSON and 413 when it
    /// is larger than `limit` bytes.
    public mutating func jsonObject(limit: Int, allowEmpty: Bool = false) async throws -> JSONObject {
        let contentType = self.headers[.contentType]?.lowercased() ?? ""
        let buffer = try await self.collectBody(upTo: limit)
        if buffer.readableBytes == 0 {
            if allowEmpty { return JSONObject([:]) }
            throw APIError.badRequest("Request body must be a JSON object")
        }
        guard contentType.hasPrefix("application/json") || contentType.contains("+json") else {
            throw APIError.badRequest("Content-Type must be application/json")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(buffer)
        } catch {
            throw APIError.badRequest("Malformed JSON body")
        }
        guard case .object(let fields) = value else {
            throw APIError.badRequest("Request body must be a JSON object")
        }
        // PostgreSQL cannot store U+0000 in text, and no chat text needs it: refused alike on every store.
        if value.containsNulCharacter {
            throw APIError.badRequest("Request body must not contain NUL characters (\\u0000)")
        }
        return JSONObject(fields)
    }
}

extension Parameters {
    /// A positive integer path parameter; anything else is a 400 with `message`.
    public func positiveInt(_ name: String, message: String) throws -> Int {
        guard let raw = self.get(name), let value = Int(raw), value > 0, raw.allSatisfy(\.isASCII) else {
            throw APIError.badRequest(message)
        }
        return value
    }
}

extension Request {
    /// A positive integer query parameter with a default and an upper bound; a malformed value is a 400.
    public func queryInt(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = self.uri.queryParameters.get(name), !raw.isEmpty else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            throw APIError.invalidField(name, JSONObject.rangeText(range))
        }
        return value
    }

    public func queryString(_ name: String) -> String? {
        guard let raw = self.uri.queryParameters.get(name), !raw.isEmpty else { return nil }
        return raw
    }
}
