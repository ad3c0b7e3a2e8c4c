import AIChatCore
import SQLKit

/// Storage of users.
public protocol UserRepository: Sendable {
    func find(id: Int) async throws -> User?
    func find(username: String) async throws -> User?
    func count() async throws -> Int
    /// Creates a user in one transaction with the registration decision: `gate` sees the current user count and
    /// throws to refuse; the first user ever becomes ADMIN. Two concurrent first registrations give one admin.
    func register(username: String, hashedPassword: String, gate: @Sendable (Int) throws -> Void) async throws -> User
    /// Creates a user with a given role (admin action).
    func create(username: String, hashedPassword: String, role: UserRole) async throws -> User
    func list(search: String?, page: Int, limit: Int) async throws -> Page<UserListItem>
    func listItem(id: Int) async throws -> UserListItem?
    /// Changes a role; demoting the last admin throws ``UserStoreError/lastAdmin``.
    func setRole(id: Int, role: UserRole) async throws -> User
    /// Replaces the password hash and revokes every token issued before.
    func setPassword(id: Int, hashedPassword: String) async throws
    /// Revokes every token issued before.
    func revokeTokens(id: Int) async throws
    /// Deletes a user and everything the user owns; deleting the last admin throws ``UserStoreError/lastAdmin``.
    func delete(id: Int) async throws
}

public struct SQLUserRepository: UserRepository {
    let database: any AppDatabase

    public init(database: any AppDatabase) {
        self.database = database
    }

    static let columns = #""id", "username", "hashedPassword", "role", "createdAt", "tokenVersion""#

    static func decode(_ row: any SQLRow) throws -> User {
        User(
            id: try row.int("id"),
            username: try row.string("username"),
            hashedPassword: try row.string("hashedPassword"),
            role: UserRole(rawValue: try row.string("role")) ?? .user,
            createdAt: try row.timestamp("createdAt"),
            tokenVersion: try row.optionalInt("tokenVersion") ?? 0
        )
    }

    public func find(id: Int) async throws -> User? {
        try await self.database.read { sql in
            try await Self.find(id: id, in: sql)
        }
    }

    static func find(id: Int, in sql: any SQLDatabase) async throws -> User? {
        try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM \"users\" WHERE \"id\" = \(bind: id)").first().map(Self.decode)
    }

    public func find(username: String) async throws -> User? {
        try await self.database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM \"users\" WHERE \"username\" = \(bind: username)")
                .first().map(Self.decode)
        }
    }

    public func count() async throws -> Int {
        try await self.database.read { sql in
            try await Self.count(in: sql)
        }
    }

    static func count(in sql: any SQLDatabase) async throws -> Int {
        try await sql.raw(#"SELECT COUNT(*) AS "n" FROM "users""#).first()?.int("n") ?? 0
    }

    public func register(username: String, hashedPassword: String, gate: @Sendable (Int) throws -> Void) async throws -> User {
        try await self.database.write { sql in
            let existing = try await Self.count(in: sql)
            try gate(existing)
            return try await Self.insert(username: username, hashedPassword: hashedPassword, role: existing == 0 ? .admin : .user, in: sql)
        }
    }

    public func create(username: String, hashedPassword: String, role: UserRole) async throws -> User {
        try await self.database.write { sql in
            try await Self.insert(username: username, hashedPassword: hashedPassword, role: role, in: sql)
        }
    }

    static func insert(username: String, hashedPassword: String, role: UserRole, in sql: any SQLDatabase) async throws -> User {
        let taken = try await sql.raw("SELECT 1 AS \"x\" FROM \"users\" WHERE \"username\" = \(bind: username)").first()
        guard taken == nil else { throw UserStoreError.usernameTaken }
        let now = Timestamp.now()
        guard
            let row = try await sql.raw(
                """
                INSERT INTO "users" ("username", "hashedPassword", "role", "createdAt", "tokenVersion")
                VALUES (\(bind: username), \(bind: hashedPassword), \(bind: role.rawValue), \(bind: now.milliseconds), 0)
                RETURNING "id"
                """
            ).first()
        else { throw DatabaseError("insert into users returned no id") }
        return User(id: try row.int("id"), username: username, hashedPassword: hashedPassword, role: role, createdAt: now, tokenVersion: 0)
    }

    static let listSelect = """
        SELECT u."id", u."username", u."role", u."createdAt",
            (SELECT COUNT(*) FROM "chat_sessions" s WHERE s."userId" = u."id") AS "sessionCount",
            (SELECT COUNT(*) FROM "connections" c WHERE c."ownerUserId" = u."id") AS "connectionCount"
        FROM "users" u
        """

    static func decodeListItem(_ row: any SQLRow) throws -> UserListItem {
        UserListItem(
            id: try row.int("id"),
            username: try row.string("username"),
            role: UserRole(rawValue: try row.string("role")) ?? .user,
            createdAt: try row.timestamp("createdAt"),
            _count: .init(chatSessions: try row.int("sessionCount"), connections: try row.int("connectionCount"))
        )
    }

    public func list(search: String?, page: Int, limit: Int) async throws -> Page<UserListItem> {
        try await self.database.read { sql in
            let filter: SQLQueryString =
                if let search, !search.isEmpty {
                    "WHERE LOWER(u.\"username\") LIKE \(bind: containsPattern(search)) ESCAPE '\\'"
                } else {
                    ""
                }
            let total = try await sql.raw("SELECT COUNT(*) AS \"n\" FROM \"users\" u \(filter)").first()?.int("n") ?? 0
            let rows = try await sql.raw(
                "\(unsafeRaw: Self.listSelect) \(filter) ORDER BY u.\"createdAt\" DESC, u.\"id\" DESC LIMIT \(bind: limit) OFFSET \(bind: (page - 1) * limit)"
            ).all()
            return Page(items: try rows.map(Self.decodeListItem), total: total)
        }
    }

    public func listItem(id: Int) async throws -> UserListItem? {
        try await self.database.read { sql in
            try await sql.raw("\(unsafeRaw: Self.listSelect) WHERE u.\"id\" = \(bind: id)").first().map(Self.decodeListItem)
        }
    }

    static func adminCount(in sql: any SQLDatabase) async throws -> Int {
        try await sql.raw(#"SELECT COUNT(*) AS "n" FROM "users" WHERE "role" = 'ADMIN'"#).first()?.int("n") ?? 0
    }

    public func setRole(id: Int, role: UserRole) async throws -> User {
        try await self.database.write { sql in
            guard var user = try await Self.find(id: id, in: sql) else { throw UserStoreError.notFound }
            if user.role == .admin, role != .admin, try await Self.adminCount(in: sql) <= 1 {
                throw UserStoreError.lastAdmin
            }
            try await sql.raw("UPDATE \"users\" SET \"role\" = \(bind: role.rawValue) WHERE \"id\" = \(bind: id)").run()
            user.role = role
            return user
        }
    }

    public func setPassword(id: Int, hashedPassword: String) async throws {
        try await self.database.write { sql in
            guard try await Self.find(id: id, in: sql) != nil else { throw UserStoreError.notFound }
            try await sql.raw(
                """
                UPDATE "users" SET "hashedPassword" = \(bind: hashedPassword), "tokenVersion" = "tokenVersion" + 1
                WHERE "id" = \(bind: id)
                """
            ).run()
        }
    }

    public func revokeTokens(id: Int) async throws {
        try await self.database.write { sql in
            try await sql.raw("UPDATE \"users\" SET \"tokenVersion\" = \"tokenVersion\" + 1 WHERE \"id\" = \(bind: id)").run()
        }
    }

    public func delete(id: Int) async throws {
        try await self.database.write { sql in
            guard let user = try await Self.find(id: id, in: sql) else { throw UserStoreError.notFound }
            if user.role == .admin, try await Self.adminCount(in: sql) <= 1 {
                throw UserStoreError.lastAdmin
            }
            try await sql.raw("DELETE FROM \"users\" WHERE \"id\" = \(bind: id)").run()
        }
    }
}
