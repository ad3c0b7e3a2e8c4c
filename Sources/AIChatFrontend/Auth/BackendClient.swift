import AIChatCore
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// The frontend's own calls to the backend API (sign-in forms, the page guard, initial page data).
///
/// Each call carries the browser's `token` cookie and the `X-Forwarded-*` headers of the page request, so the
/// backend sees the real client address (login throttling) and scheme (cookie `Secure` flag).
struct BackendClient: Sendable {
    let client: HTTPClient
    let baseURL: String

    /// A backend answer: status and the parsed JSON body (nil when it was not JSON).
    struct Reply: Sendable {
        let status: Int
        let json: JSONValue?

        var data: JSONValue? {
            if case .object(let fields)? = self.json { return fields["data"] }
            return nil
        }

        /// The envelope's `error` text.
        var error: String? {
            if case .object(let fields)? = self.json, case .string(let text)? = fields["error"] { return text }
            return nil
        }
    }

    /// The backend did not answer (refused, timed out) or answered with a server error.
    struct Unavailable: Error {
        let reason: String
    }

    func call(
        _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, token: String?, for request: Request, remote: String?
    ) async throws -> Reply {
        var upstream = HTTPClientRequest(url: self.baseURL + path)
        upstream.method = method
        upstream.headers.add(name: "Accept", value: "application/json")
        if let token { upstream.headers.add(name: "Cookie", value: "token=\(token)") }
        let proto = request.headers[.xForwardedProto] ?? request.head.scheme ?? "http"
        upstream.headers.add(name: "X-Forwarded-Proto", value: proto)
        let client = remote ?? "unknown"
        upstream.headers.add(name: "X-Forwarded-For", value: request.headers[.xForwardedFor].map { "\($0), \(client)" } ?? client)
        if let host = request.head.authority { upstream.headers.add(name: "X-Forwarded-Host", value: host) }
        if let body {
            upstream.headers.add(name: "Content-Type", value: "application/json")
            upstream.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        }
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await self.client.execute(upstream, deadline: .now() + .seconds(15))
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 8 << 20)
        } catch {
            throw Unavailable(reason: "\(error)")
        }
        if status >= 500 { throw Unavailable(reason: "HTTP \(status)") }
        return Reply(status: status, json: try? JSONValue.parse(Data(buffer: bytes)))
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }
}
