import AIChatCore
import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Reverse proxy of `/api/*` to the backend: method, path, query, body and end-to-end headers pass through;
/// request bodies stream to the backend and responses back as they arrive, so server-sent events reach the browser
/// event by event.
struct APIProxy<Context: RequestContext & RemoteAddressRequestContext> {
    let client: HTTPClient
    let backendBaseURL: String
    let bodyLimit: Int

    static var hopByHop: Set<String> {
        ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"]
    }

    func addRoutes(to router: Router<Context>) {
        for method: HTTPRequest.Method in [.get, .head, .post, .put, .patch, .delete, .options] {
            router.on("/api/**", method: method, use: self.forward)
        }
    }

    @Sendable func forward(_ request: Request, context: Context) async throws -> Response {
        var upstream = HTTPClientRequest(url: self.backendBaseURL + request.uri.description)
        upstream.method = .init(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            if field.name.canonicalName.hasPrefix("x-forwarded-") { continue }
            // The origin was checked by `OriginCheckMiddleware`: what reaches the backend is same-origin, and its CORS
            // layer would otherwise turn every error of a browser's write request into a bare 500.
            if field.name == .origin { continue }
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        let chain = request.headers[HTTPField.Name("X-Forwarded-For")!].map { "\($0), \(client)" } ?? client
        upstream.headers.replaceOrAdd(name: "X-Forwarded-For", value: chain)
        upstream.headers.replaceOrAdd(name: "X-Forwarded-Proto", value: request.headers[HTTPField.Name("X-Forwarded-Proto")!] ?? "http")
        if let host = request.head.authority {
            upstream.headers.replaceOrAdd(name: "X-Forwarded-Host", value: host)
        }
        if request.method != .get, request.method != .head {
            // Streamed through as it arrives, never collected here: the backend applies each route's body limit (and
            // answers 413 for a declared length over it before reading a byte).
            let length = request.headers[.contentLength].flatMap(Int.init)
            if let length, length > self.bodyLimit {
                return APIError(.contentTooLarge, "Request body too large").response()
            }
            upstream.body = .stream(request.body, length: length.map { .known(Int64($0)) } ?? .unknown)
        }
        let response: HTTPClientResponse
        do {
            response = try await self.client.execute(upstream, deadline: .now() + .hours(2), logger: context.logger)
        } catch {
            context.logger.error("backend unreachable at \(self.backendBaseURL): \(error)")
            return APIError(.badGateway, "Backend unavailable").response()
        }
        var headers = HTTPFields()
        for header in response.headers where !Self.hopByHop.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let isEventStream = response.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
        if isEventStream {
            headers[.cacheControl] = "no-cache, no-transform"
            headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        }
        let length = response.headers.first(name: "content-length").flatMap(Int.init)
        let status = HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase)
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(contentLength: isEventStream ? nil : length) { writer in
                // A browser that went away is noticed by the next write: events or the backend's keep-alive pings
                // arrive at least every heartbeat interval. The failed write ends this loop, and leaving the loop
                // closes the backend request (the answer itself is a job on the backend and is saved regardless).
                for try await chunk in response.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }
}
