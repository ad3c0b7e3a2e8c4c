import AIChatCore

/// Keeps users looked up by id for a moment, so that authenticating a burst of requests (every chat message,
/// every stream re-attach) does not read the same row again each time.
///
/// Every change made through this repository drops the changed user at once, so in one process a role change,
/// a password change, a revocation or a deletion takes effect on the next request. Several replicas sharing one
/// database see another replica's change after at most `lifetime`.
public final class CachedUserRepository: UserRepository {
    let base: any UserRepository
    private let cache: ShortLivedCache<Int, User>

    public init(_ base: any UserRepository, lifetime: Duration = .seconds(2), capacity: Int = 10_000) {
        self.base = base
        self.cache = ShortLivedCache(lifetime: lifetime, capacity: capacity)
    }

    public func find(id: Int) async throws -> User? {
        try await self.cache.value(for: id) { try await self.base.find(id: id) }
    }

    public func find(username: String) async throws -> User? { try await self.base.find(username: username) }
    public func count() async throws -> Int { try await self.base.count() }

    public func register(username: String, hashedPassword: String, gate: @Sendable (Int) throws -> Void) async throws -> User {
        try await self.base.register(username: username, hashedPassword: hashedPassword, gate: gate)
    }

    public func create(username: String, hashedPassword: String, role: UserRole) async throws -> User {
        try await self.base.create(username: username, hashedPassword: hashedPassword, role: role)
    }

    public func list(search: String?, page: Int, limit: Int) async throws -> Page<UserListItem> {
        try await self.base.list(search: search, page: page, limit: limit)
    }

    public func listItem(id: Int) async throws -> UserListItem? { try await self.base.listItem(id: id) }

    public func setRole(id: Int, role: UserRole) async throws -> User {
        try await self.cache.changing(id) { try await self.base.setRole(id: id, role: role) }
    }

    public func setPassword(id: Int, hashedPassword: String) async throws {
        try await self.cache.changing(id) { try await self.base.setPassword(id: id, hashedPassword: hashedPassword) }
    }

    public func revokeTokens(id: Int) async throws {
        try await self.cache.changing(id) { try await self.base.revokeTokens(id: id) }
    }

    public func delete(id: Int) async throws {
        try await self.cache.changing(id) { try await self.base.delete(id: id) }
    }
}
