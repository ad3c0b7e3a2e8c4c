import AIChatCore
import Hummingbird

/// `/api/auth`: register, login, me, password change, logout.
struct AuthController {
    let users: any UserRepository
    let hasher: PasswordHasher
    let tokens: TokenService
    let authenticator: Authenticator
    let settings: SystemSettingsService
    let throttle: LoginThrottle
    let cookie: TokenCookie
    let appMode: AppMode
    let bodyLimit: Int

    struct AuthPayload: Encodable, Sendable {
        let user: PublicUser
        let token: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("register", use: self.register)
        group.post("login", use: self.login)
        group.post("logout", use: self.logout)
        let signedIn = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator))
        signedIn.get("me", use: self.me)
        signedIn.put("password", use: self.changePassword)
    }

    /// Refuses registration per `APP_MODE` and `registration_enabled`; registration is always open while no
    /// user exists, so a fresh deployment can create its admin.
    static func registrationGate(appMode: AppMode, registrationEnabled: Bool) -> @Sendable (Int) throws -> Void {
        { userCount in
            guard userCount > 0 else { return }
            switch appMode {
                case .single: throw UserStoreError.registrationClosed("Registration is disabled in single user mode")
                case .multi:
                    if !registrationEnabled { throw UserStoreError.registrationClosed("Registration is currently disabled") }
            }
        }
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let (username, password) = try AuthRules.credentials(body)
        let gate = Self.registrationGate(
            appMode: self.appMode,
            registrationEnabled: try await self.settings.current().bool(.registrationEnabled)
        )
        do {
            try gate(try await self.users.count())
            if try await self.users.find(username: username) != nil { throw UserStoreError.usernameTaken }
            let hash = try await self.hasher.hash(password)
            let user = try await self.users.register(username: username, hashedPassword: hash, gate: gate)
            context.logger.info("registered user \(user.id) as \(user.role.rawValue)")
            return self.signedIn(user, message: "Registration successful", request: request)
        } catch let error as UserStoreError {
            throw Self.apiError(error)
        }
    }

    static func apiError(_ error: UserStoreError) -> APIError {
        switch error {
            case .registrationClosed(let message): APIError.forbidden(message)
            case .usernameTaken: APIError.conflict("Username already exists")
            case .notFound: APIError.notFound("User not found")
            case .lastAdmin: APIError.badRequest("At least one admin is required")
        }
    }

    func signedIn(_ user: User, message: String, request: Request) -> Response {
        let token = self.tokens.issue(userId: user.id, username: user.username, role: user.role.rawValue, tokenVersion: user.tokenVersion)
        var response = JSONResponse.make(
            status: .ok,
            SuccessBody(data: AuthPayload(user: user.publicProfile, token: token), message: message)
        )
        self.cookie.set(token, on: &response.headers, request: request)
        return response
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let username = try body.string("username", maxLength: 200)
        let password = try body.string("password", maxLength: AuthRules.maxPasswordLength)
        let address = context.clientAddress(request)
        switch await self.throttle.admit(username: username, address: address) {
            case .refused(let wait):
                throw APIError.tooManyRequests("Too many failed login attempts. Try again in \(wait) seconds.", retryAfterSeconds: wait)
            case .proceed(let delay) where delay > 0:
                try await Task.sleep(for: .milliseconds(delay))
            case .proceed:
                break
        }
        // Such a password cannot have been set here, and checking it would compare only its first 72 bytes.
        guard password.utf8.count <= AuthRules.maxPasswordBytes else {
            await self.throttle.recordFailure(username: username, address: address)
            throw APIError.badRequest("Passwords longer than 72 bytes are not accepted; ask an administrator to set a new one")
        }
        let user = try await self.users.find(username: username)
        let valid: Bool
        if let user {
            valid = try await self.hasher.verify(password, hash: user.hashedPassword)
        } else {
            try await self.hasher.verifyAgainstNothing(password)
            valid = false
        }
        guard valid, let user else {
            await self.throttle.recordFailure(username: username, address: address)
            context.logger.notice("failed login for \"\(AuthRules.loggable(username))\" from \(address)")
            throw APIError.unauthorized("Invalid username or password")
        }
        await self.throttle.recordSuccess(username: username, address: address)
        return self.signedIn(user, message: "Login successful", request: request)
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Envelope<PublicUser> {
        Envelope(try context.requireUser().publicProfile)
    }

    @Sendable func changePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let current = try body.string("currentPassword", maxLength: AuthRules.maxPasswordLength)
        let new = try body.string("newPassword")
        try AuthRules.checkPasswordLength(new)
        guard AuthRules.validPassword(new) else { throw APIError.badRequest(AuthRules.newPasswordMessage) }
        let key = ["password:\(user.id)"]
        if let wait = await self.throttle.retryAfter(keys: key) {
            throw APIError(.tooManyRequests, "Too many failed attempts. Try again in \(wait) seconds.", headers: [.retryAfter: String(wait)])
        }
        // 400, not 401: a wrong current password must not look like an expired session to the client.
        guard try await self.hasher.verify(current, hash: user.hashedPassword) else {
            await self.throttle.recordFailure(keys: key)
            throw APIError.badRequest("Current password is incorrect")
        }
        let hash = try await self.hasher.hash(new)
        do {
            try await self.users.setPassword(id: user.id, hashedPassword: hash)
        } catch let error as UserStoreError {
            throw Self.apiError(error)
        }
        guard let updated = try await self.users.find(id: user.id) else { throw APIError.notFound("User not found") }
        let token = self.tokens.issue(userId: updated.id, username: updated.username, role: updated.role.rawValue, tokenVersion: updated.tokenVersion)
        var response = JSONResponse.make(status: .ok, SuccessBody(data: ["token": token], message: "Password updated successfully"))
        self.cookie.set(token, on: &response.headers, request: request)
        return response
    }

    /// Clears the cookie and, when the request carries a valid token, revokes every token of that user.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let user = try? await self.authenticator.authenticate(request) {
            try await self.users.revokeTokens(id: user.id)
        }
        var response = JSONResponse.make(status: .ok, SuccessBody<String>(data: nil, message: "Logged out"))
        self.cookie.clear(on: &response.headers, request: request)
        return response
    }
}

/// `{"success":true,"data":…,"message":…}` for handlers that also set headers.
struct SuccessBody<Payload: Encodable>: Encodable {
    let success = true
    let data: Payload?
    let message: String?
}
