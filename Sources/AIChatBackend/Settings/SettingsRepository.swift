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
/// lifetime picks up changes made by other replicas.
public actor SystemSettingsService {
    let repository: any SettingsRepository
    let env: EnvironmentValues
    let appMode: AppMode
    let defaultContextTokenLimit: Int
    private var cached: (settings: SystemSettings, loadedAt: ContinuousClock.Instant)?
    private let lifetime: Duration = .seconds(5)

    public init(repository: any SettingsRepository, configuration: BackendConfiguration) {
        self.repository = repository
        self.env = configuration.env
        self.appMode = configuration.appMode
        self.defaultContextTokenLimit = configuration.defaultContextTokenLimit
    }

    public func current() async throws -> SystemSettings {
        if let cached, cached.loadedAt.duration(to: .now) < self.lifetime {
            return cached.settings
        }
        let rows = try await self.repository.systemRows()
        let settings = SystemSettings(stored: rows, env: self.env, appMode: self.appMode, defaultContextTokenLimit: self.defaultContextTokenLimit)
        self.cached = (settings, .now)
        return settings
    }

    public func update(_ changes: [String: String?]) async throws -> SystemSettings {
        try await self.repository.updateSystem(changes)
        self.cached = nil
        return try await self.current()
    }
}
