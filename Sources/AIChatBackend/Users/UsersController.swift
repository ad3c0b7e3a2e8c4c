import AIChatCore
import Hummingbird

/// `/api/users` (admin): list, show, create, change role, reset password, delete.
struct UsersController {
    let users: any UserRepository
    let hasher: PasswordHasher
    let registry: GenerationRegistry
    let bodyLimit: Int

    struct UserList: Encodable, Sendable {
        let users: [UserListItem]
        let pagination: Pagination
    }

    struct RoleChange: Encodable, Sendable {
        let id: Int
        let username: String
        let role: UserRole
        let createdAt: Timestamp
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: self.list)
        group.post(use: self.create)
        group.get(":id", use: self.show)
        group.put(":id/role", use: self.setRole)
        group.put(":id/password", use: self.resetPassword)
        group.delete(":id", use: self.delete)
    }

    static func userID(_ context: AppRequestContext) throws -> Int {
        try context.parameters.positiveInt("id", message: "Invalid user ID")
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Envelope<UserList> {
        let page = try request.queryInt("page", default: 1, range: 1...1_000_000)
        let limit = try request.queryInt("limit", default: 10, range: 1...100)
        let search = request.queryString("search").map { String($0.prefix(100)) }
        let result = try await self.users.list(search: search, page: page, limit: limit)
        return Envelope(UserList(users: result.items, pagination: Pagination(page: page, limit: limit, total: result.total)))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Envelope<UserListItem> {
        guard let item = try await self.users.listItem(id: try Self.userID(context)) else {
            throw APIError.notFound("User not found")
        }
        return Envelope(item)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Envelope<UserListItem> {
        var request = request
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let (username, password) = try AuthRules.credentials(body)
        let role = try body.optionalChoice("role", as: UserRole.self) ?? .user
        if try await self.users.find(username: username) != nil { throw APIError.conflict("Username already exists") }
        let hash = try await self.hasher.hash(password)
        do {
            let user = try await self.users.create(username: username, hashedPassword: hash, role: role)
            guard let item = try await self.users.listItem(id: user.id) else { throw APIError.notFound("User not found") }
            let adminId = try context.requireUser().id
            context.logger.info("admin \(adminId) created user \(user.id)")
            return Envelope(item, message: "User created successfully")
        } catch let error as UserStoreError {
            throw AuthController.apiError(error)
        }
    }

    @Sendable func setRole(_ request: Request, context: AppRequestContext) async throws -> Envelope<RoleChange> {
        var request = request
        let id = try Self.userID(context)
        let body = try await request.jsonObject(limit: self.bodyLimit)
        guard case .string(let raw)? = body.raw("role"), let role = UserRole(rawValue: raw) else {
            throw APIError.badRequest("Invalid role. Must be ADMIN or USER")
        }
        guard id != (try context.requireUser().id) else { throw APIError.badRequest("Cannot modify your own role") }
        do {
            let user = try await self.users.setRole(id: id, role: role)
            return Envelope(
                RoleChange(id: user.id, username: user.username, role: user.role, createdAt: user.createdAt),
                message: "User role updated successfully"
            )
        } catch UserStoreError.lastAdmin {
            throw APIError.badRequest("Cannot change role: at least one admin is required")
        } catch let error as UserStoreError {
            throw AuthController.apiError(error)
        }
    }

    @Sendable func resetPassword(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        var request = request
        let id = try Self.userID(context)
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let password = try body.string("newPassword")
        try AuthRules.checkPasswordLength(password)
        guard AuthRules.validPassword(password) else { throw APIError.badRequest(AuthRules.newPasswordMessage) }
        guard try await self.users.find(id: id) != nil else { throw APIError.notFound("User not found") }
        let hash = try await self.hasher.hash(password)
        do {
            try await self.users.setPassword(id: id, hashedPassword: hash)
        } catch let error as UserStoreError {
            throw AuthController.apiError(error)
        }
        return MessageEnvelope("Password reset successfully")
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        let id = try Self.userID(context)
        guard id != (try context.requireUser().id) else { throw APIError.badRequest("Cannot delete your own account") }
        await self.registry.discard(userId: id)
        do {
            try await self.users.delete(id: id)
        } catch UserStoreError.lastAdmin {
            throw APIError.badRequest("Cannot delete user: at least one admin is required")
        } catch let error as UserStoreError {
            throw AuthController.apiError(error)
        }
        return MessageEnvelope("User deleted successfully")
    }
}
