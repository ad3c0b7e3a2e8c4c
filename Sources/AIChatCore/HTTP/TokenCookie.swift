import Foundation
import HTTPTypes
import Hummingbird

/// Whether the auth cookie carries `Secure` (`COOKIE_SECURE`).
public enum CookieSecurePolicy: String, CaseIterable, Sendable {
    /// Secure when the request arrived over HTTPS, directly or per `X-Forwarded-Proto`.
    case auto
    case `true`
    case `false`
}

/// The `token` cookie both servers set: HttpOnly (scripts never see it), SameSite=Lax, Path=/, 24 hours, and
/// `Secure` per ``CookieSecurePolicy``.
public struct TokenCookie: Sendable {
    public static let name = "token"
    public static let lifetimeSeconds = 86_400
    public let policy: CookieSecurePolicy

    public init(policy: CookieSecurePolicy) {
        self.policy = policy
    }

    public func isSecure(_ request: Request) -> Bool {
        switch self.policy {
            case .true: return true
            case .false: return false
            case .auto:
                if let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.split(separator: ",").first {
                    return proto.trimmingCharacters(in: .whitespaces).lowercased() == "https"
                }
                return request.head.scheme?.lowercased() == "https"
        }
    }

    public func value(_ token: String, maxAge: Int, request: Request) -> String {
        var value = "\(Self.name)=\(token); Max-Age=\(maxAge); Path=/; HttpOnly; SameSite=Lax"
        if self.isSecure(request) { value += "; Secure" }
        return value
    }

    public func set(_ token: String, on headers: inout HTTPFields, request: Request) {
        headers.append(HTTPField(name: .setCookie, value: self.value(token, maxAge: Self.lifetimeSeconds, request: request)))
    }

    public func clear(on headers: inout HTTPFields, request: Request) {
        headers.append(HTTPField(name: .setCookie, value: self.value("", maxAge: 0, request: request)))
    }
}
