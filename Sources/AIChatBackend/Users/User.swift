import AIChatCore

public enum UserRole: String, CaseIterable, Sendable, Codable {
    case admin = "ADMIN"
    case user = "USER"
}

/// A user as stored.
public struct User: Sendable, Equatable {
    public var id: Int
    public var username: String
    public var hashedPassword: String
    public var role: UserRole
    public var createdAt: Timestamp
    public var tokenVersion: Int

    /// `{id, username, role}`, the shape of `data.user` in auth responses and of `/api/auth/me`.
    public var publicProfile: PublicUser {
        PublicUser(id: self.id, username: self.username, role: self.role)
    }
}

public struct PublicUser: Codable, Sendable, Equatable {
    public var id: Int
    public var username: String
    public var role: UserRole
}

/// A row of the admin user list.
public struct UserListItem: Encodable, Sendable {
    public struct Counts: Encodable, Sendable {
        public var chatSessions: Int
        public var connections: Int
    }

    public var id: Int
    public var username: String
    public var role: UserRole
    public var createdAt: Timestamp
    public var _count: Counts
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
}

/// The `pagination` object of list responses.
public struct Pagination: Encodable, Sendable, Equatable {
    public var page: Int
    public var limit: Int
    public var total: Int
    public var totalPages: Int

    public init(page: Int, limit: Int, total: Int) {
        self.page = page
        self.limit = limit
        self.total = total
        self.totalPages = limit > 0 ? (total + limit - 1) / limit : 0
    }
}

public enum UserStoreError: Error, Equatable {
    case usernameTaken
    case lastAdmin
    case notFound
    case registrationClosed(String)
}
