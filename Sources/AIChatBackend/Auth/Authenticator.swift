import AIChatCore
import HTTPTypes
import Hummingbird

/// Resolves the caller from `Authorization: Bearer <jwt>` or the `token` cookie.
public struct Authenticator: Sendable {
    let tokens: TokenService
    let users: any UserRepository

    public init(tokens: TokenService, users: any UserRepository) {
        self.tokens = tokens
        self.users = users
    }

    /// The token a request carries: a well-formed `Bearer` header first, else the `token` cookie.
    public static func token(in request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == "Bearer", !parts[1].isEmpty { return String(parts[1]) }
        }
        if let cookie = request.cookies["token"]?.value, !cookie.isEmpty { return cookie }
        return nil
    }

    /// The user a request belongs to, with the original's error messages for each failure.
    public func authenticate(_ request: Request) async throws -> User {
        guard let token = Self.token(in: request) else {
            throw APIError.unauthorized("Missing or invalid authorization header")
        }
        let claims: TokenClaims
        do {
            claims = try self.tokens.verify(token)
        } catch {
            throw APIError.unauthorized("Invalid or expired token")
        }
        guard let user = try await self.users.find(id: claims.userId) else {
            throw APIError.unauthorized("User not found")
        }
        guard (claims.tv ?? 0) == user.tokenVersion else {
            throw APIError.unauthorized("Invalid or expired token")
        }
        return user
    }
}

/// Requires a signed-in user, optionally an admin; the role is read from the database on every request.
public struct RequireUserMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let authenticator: Authenticator
    let adminOnly: Bool

    public init(authenticator: Authenticator, adminOnly: Bool = false) {
        self.authenticator = authenticator
        self.adminOnly = adminOnly
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let user = try await self.authenticator.authenticate(request)
        if self.adminOnly, user.role != .admin {
            throw APIError.forbidden("Admin access required")
        }
        context.user = user
        return try await next(request, context)
    }
}
