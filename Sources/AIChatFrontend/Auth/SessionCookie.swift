import AIChatCore
import HTTPTypes
import Hummingbird

/// The `token` cookie the browser holds: HttpOnly (scripts never see it), SameSite=Lax, 24 hours, and `Secure`
/// when the page was reached over HTTPS (directly or per `X-Forwarded-Proto`) or `COOKIE_SECURE=true`.
struct SessionCookie: Sendable {
    static let name = TokenCookie.name
    static let lifetimeSeconds = TokenCookie.lifetimeSeconds
    let cookie: TokenCookie

    init(policy: CookieSecurePolicy) {
        self.cookie = TokenCookie(policy: policy)
    }

    func isSecure(_ request: Request) -> Bool { self.cookie.isSecure(request) }

    func set(_ token: String, on headers: inout HTTPFields, request: Request) {
        self.cookie.set(token, on: &headers, request: request)
    }

    func clear(on headers: inout HTTPFields, request: Request) {
        self.cookie.clear(on: &headers, request: request)
    }

    /// The token the request carries, if any (a valid JWT has only URL-safe characters and dots).
    static func token(in request: Request) -> String? {
        guard let value = Self.cookie(Self.name, in: request), !value.isEmpty else { return nil }
        guard value.count < 4096, value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else { return nil }
        return value
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}
