import AIChatCore
import SQLKit

/// Storage of `system_settings` rows and of per-user settings (`user_settings`).
public protocol SettingsRepository: Sendable {
    func systemRows() async throws -> [String: String]
    /// Upserts the non-nil values and deletes the keys mapped to nil, in one transaction.
    func updateSystem(_ changes: [String: String?]) async throws
    func userSettings(userId: Int) async throws -> [String: String]
    func updateUserSettings(userId: Int, _ changes: [String: String?]) async throws
}

public struct SQLSettingsRepository: SettingsRepository {
    let database: any AppDatabase

    public init(database: any AppDatabase) {
        self.database = database
    }

    public func systemRows() async throws -> [String: String] {
        try await self.database.read { sql in
            let rows = try await sql.raw(#"SELECT "key", "value" FROM "system_settings""#).all()
            var result: [String: String] = [:]
            for row in rows {
                result[try row.string("key")] = try row.string("value")
            }
            return result
        }
    }

    public func updateSystem(_ changes: [String: String?]) async throws {
        try await self.database.write { sql in
            for (key, value) in changes {
                if let value {
                    try await sql.raw(
                        """
                        INSERT INTO "system_settings" ("key", "value") VALUES (\(bind: key), \(bind: value))
                        ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"
                        """
                    ).run()
                } else {
                    try await sql.raw("DELETE FROM \"system_settings\" WHERE \"key\" = \(bind: key)").run()
                }
            }
        }
    }

    public func userSettings(userId: Int) async throws -> [String: String] {
        try await self.database.read { sql in
            let rows = try await sql.raw("SELECT \"key\", \"value\" FROM \"user_settings\" WHERE \"userId\" = \(bind: userId)").all()
            var result: [String: String] = [:]
            for row in rows {
                result[try row.string("key")] = try row.string("value")
            }
            return result
        }
    }

    public func updateUserSettings(userId: Int, _ changes: [String: String?]) async throws {
        let now = Timestamp.now().milliseconds
        try await self.database.write { sql in
            for (key, value) in changes {
                if let value {
                    try await sql.raw(
                        """
                        INSERT INTO "user_settings" ("userId", "key", "value", "updatedAt")
                        VALUES (\(bind: userId), \(bind: key), \(bind: value), \(bind: now))
                        ON CONFLICT ("userId", "key") DO UPDATE SET "value" = excluded."value", "updatedAt" = excluded."updatedAt"
                        """
                    ).run()
                } else {
                    try await sql.raw(
                        "DELETE FROM \"user_settings\" WHERE \"userId\" = \(bind: userId) AND \"key\" = \(bind: key)"
                    ).run()
                }
            }
        }
    }
}

/// Cached view of the effective system settings; writes through this service refresh it at once, and a short
/// lifetime picks up changes made by other replicas. A cached read does not suspend.
public final class SystemSettingsService: Sendable {
    let repository: any SettingsRepository
    let env: EnvironmentValues
    let appMode: AppMode
    let defaultContextTokenLimit: Int
    private let cache = ShortLivedCache<Int, SystemSettings>(lifetime: .seconds(5), capacity: 1)

    public init(repository: any SettingsRepository, configuration: BackendConfiguration) {
        self.repository = repository
        self.env = configuration.env
        self.appMode = configuration.appMode
        self.defaultContextTokenLimit = configuration.defaultContextTokenLimit
    }

    public func current() async throws -> SystemSettings {
        let settings = try await self.cache.value(for: 0) {
            SystemSettings(
                stored: try await self.repository.systemRows(), env: self.env, appMode: self.appMode,
                defaultContextTokenLimit: self.defaultContextTokenLimit
            )
        }
        guard let settings else { throw DatabaseError("the system settings could not be read") }
        return settings
    }

    public func update(_ changes: [String: String?]) async throws -> SystemSettings {
        try await self.cache.changing(0) { try await self.repository.updateSystem(changes) }
        return try await self.current()
    }
}
