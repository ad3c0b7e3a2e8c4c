import HTTPTypes
import Hummingbird

/// The `token` cookie the browser holds: HttpOnly (scripts never see it), SameSite=Lax, 24 hours, and `Secure`
/// when the page was reached over HTTPS (directly or per `X-Forwarded-Proto`) or `COOKIE_SECURE=true`.
struct SessionCookie: Sendable {
    static let name = "token"
    static let lifetimeSeconds = 86_400
    let policy: FrontendConfiguration.CookieSecurity

    func isSecure(_ request: Request) -> Bool {
        switch self.policy {
            case .true: return true
            case .false: return false
            case .auto:
                if let proto = request.headers[.xForwardedProto]?.split(separator: ",").first {
                    return proto.trimmingCharacters(in: .whitespaces).lowercased() == "https"
                }
                return request.head.scheme?.lowercased() == "https"
        }
    }

    func set(_ token: String, on headers: inout HTTPFields, request: Request) {
        headers.append(HTTPField(name: .setCookie, value: self.value(token, maxAge: Self.lifetimeSeconds, request: request)))
    }

    func clear(on headers: inout HTTPFields, request: Request) {
        headers.append(HTTPField(name: .setCookie, value: self.value("", maxAge: 0, request: request)))
    }

    func value(_ token: String, maxAge: Int, request: Request) -> String {
        var value = "\(Self.name)=\(token); Max-Age=\(maxAge); Path=/; HttpOnly; SameSite=Lax"
        if self.isSecure(request) { value += "; Secure" }
        return value
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
