import AIChatCore
import Synchronization

/// Keeps users looked up by id for a moment, so that authenticating a burst of requests (every chat message,
/// every stream re-attach) does not read the same row again each time.
///
/// Every change made through this repository drops the changed user at once, so in one process a role change,
/// a password change, a revocation or a deletion takes effect on the next request. Several replicas sharing one
/// database see another replica's change after at most `lifetime`.
public final class CachedUserRepository: UserRepository {
    let base: any UserRepository
    let lifetime: Duration
    let capacity: Int
    private let state = Mutex(State())

    struct State {
        var entries: [Int: Entry] = [:]
        /// Counts changes; a lookup that overlapped a change does not store what it read.
        var changes: UInt64 = 0
    }

    struct Entry {
        var user: User
        var expires: ContinuousClock.Instant
    }

    public init(_ base: any UserRepository, lifetime: Duration = .seconds(2), capacity: Int = 10_000) {
        self.base = base
        self.lifetime = lifetime
        self.capacity = capacity
    }

    public func find(id: Int) async throws -> User? {
        let now = ContinuousClock.now
        let (cached, changes) = self.state.withLock { ($0.entries[id], $0.changes) }
        if let cached, cached.expires > now { return cached.user }
        let user = try await self.base.find(id: id)
        // Misses are not kept: a user created a moment later must be found.
        guard let user else { return nil }
        self.state.withLock { state in
            guard state.changes == changes else { return }
            if state.entries.count >= self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[id] = Entry(user: user, expires: now + self.lifetime)
        }
        return user
    }

    private func forget(_ id: Int) {
        self.state.withLock { state in
            state.changes &+= 1
            state.entries.removeValue(forKey: id)
        }
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
        defer { self.forget(id) }
        self.forget(id)
        return try await self.base.setRole(id: id, role: role)
    }

    public func setPassword(id: Int, hashedPassword: String) async throws {
        defer { self.forget(id) }
        self.forget(id)
        try await self.base.setPassword(id: id, hashedPassword: hashedPassword)
    }

    public func revokeTokens(id: Int) async throws {
        defer { self.forget(id) }
        self.forget(id)
        try await self.base.revokeTokens(id: id)
    }

    public func delete(id: Int) async throws {
        defer { self.forget(id) }
        self.forget(id)
        try await self.base.delete(id: id)
    }
}
