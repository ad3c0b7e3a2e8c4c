import HTTPTypes
import Hummingbird

/// Adds the security headers to every response: a Content-Security-Policy that allows no inline script and no
/// framing, `X-Content-Type-Options`, `Referrer-Policy` and `X-Frame-Options` for older browsers.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// KaTeX sets inline `style` attributes on the formulas it draws, so styles (never scripts) may be inline.
    static var contentSecurityPolicy: String {
        [
            "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
            "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    static func apply(to headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = self.contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            Self.apply(to: &response.headers)
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            Self.apply(to: &response.headers)
            return response
        }
    }
}
