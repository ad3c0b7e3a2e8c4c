import AIChatCore
import HTTPTypes
import Hummingbird

/// Cross-site request forgery protection for POST, PUT, PATCH and DELETE, pages and `/api` alike.
///
/// The `token` cookie is `SameSite=Lax`, so other sites cannot send it with such requests from modern browsers;
/// this check also covers older ones and same-site subdomains. Browsers send `Origin` with every state-changing
/// request (or at least `Referer`): when present it must name this server (`Host`, `X-Forwarded-Host`) or a
/// trusted origin. Requests with neither header come from programs, which hold no ambient cookie of the user.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let trustedOrigins: [String]

    static var unsafeMethods: Set<HTTPRequest.Method> { [.post, .put, .patch, .delete] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.unsafeMethods.contains(request.method), !self.allowed(request) else {
            return try await next(request, context)
        }
        context.logger.notice(
            "refused cross-origin \(request.method) \(request.uri.path) from \(request.headers[.origin] ?? request.headers[.referer] ?? "?")")
        if request.uri.path.hasPrefix("/api/") {
            return APIError.forbidden("Cross-origin request refused").response()
        }
        return Response(
            status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: .init(string: "Cross-origin request refused\n")))
    }

    func allowed(_ request: Request) -> Bool {
        let source: String
        if let origin = request.headers[.origin] {
            source = origin
        } else if let referer = request.headers[.referer] {
            source = referer
        } else {
            return true
        }
        guard let origin = Self.origin(of: source) else { return false }
        if self.trustedOrigins.contains(origin.scheme + "://" + origin.host) { return true }
        var hosts: [String] = []
        if let authority = request.head.authority { hosts.append(authority.lowercased()) }
        for value in request.headers[values: .xForwardedHost] {
            hosts += value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        }
        return hosts.contains { Self.sameHost($0, origin.host, scheme: origin.scheme) }
    }

    /// Scheme and `host[:port]` of an origin or URL, lower-cased; nil for `null` or anything unparsable.
    static func origin(of text: String) -> (scheme: String, host: String)? {
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let range = lowered.range(of: "://") else { return nil }
        let scheme = String(lowered[..<range.lowerBound])
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = lowered[range.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty, !host.contains("@") else { return nil }
        return (scheme, String(host))
    }

    /// Equal hosts, treating an explicit default port (80 for http, 443 for https) as absent.
    static func sameHost(_ a: String, _ b: String, scheme: String) -> Bool {
        let port = scheme == "https" ? ":443" : ":80"
        func strip(_ host: String) -> String { host.hasSuffix(port) ? String(host.dropLast(port.count)) : host }
        return strip(a) == strip(b)
    }
}
