import Foundation
import HTTPTypes
import Hummingbird

/// The `token` cookie: HttpOnly, SameSite=Lax, Path=/, 24 h, Secure per `COOKIE_SECURE`.
struct AuthCookie {
    let policy: CookieSecurePolicy

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

    func set(_ token: String, on response: inout Response, request: Request) {
        var value = "token=\(token); Max-Age=\(TokenService.lifetimeSeconds); Path=/; HttpOnly; SameSite=Lax"
        if self.isSecure(request) { value += "; Secure" }
        response.headers.append(HTTPField(name: .setCookie, value: value))
    }

    func clear(on response: inout Response, request: Request) {
        var value = "token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        if self.isSecure(request) { value += "; Secure" }
        response.headers.append(HTTPField(name: .setCookie, value: value))
    }
}
