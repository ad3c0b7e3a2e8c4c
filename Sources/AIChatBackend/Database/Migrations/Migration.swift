import AIChatCore
import Logging
import SQLKit

/// One numbered schema step. Steps only ever add (tables, columns, indexes): a database migrated by a newer
/// build keeps working under an older one, which is what makes rolling back by image tag safe.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let apply: @Sendable (any SQLDatabase, SQLFlavor) async throws -> Void

    public init(version: Int, name: String, apply: @escaping @Sendable (any SQLDatabase, SQLFlavor) async throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }
}

/// Applies the migrations a database lacks and records each in `aichat_schema_migrations`.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration] = Migrations.all) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    public var latestVersion: Int { self.migrations.last?.version ?? 0 }

    /// Returns the versions applied by this call.
    @discardableResult
    public func migrate(_ database: any AppDatabase, logger: Logger) async throws -> [Int] {
        let flavor = database.flavor
        try await database.write { sql in
            try await sql.raw(
                """
                CREATE TABLE IF NOT EXISTS "aichat_schema_migrations" (
                    "version" \(unsafeRaw: flavor == .sqlite ? "INTEGER" : "BIGINT") NOT NULL PRIMARY KEY,
                    "name" TEXT NOT NULL,
                    "appliedAt" \(unsafeRaw: flavor == .sqlite ? "INTEGER" : "BIGINT") NOT NULL
                )
                """
            ).run()
        }
        let applied = try await self.appliedVersions(database)
        if let newest = applied.max(), newest > self.latestVersion {
            logger.notice(
                "database schema version \(newest) is newer than this build's \(self.latestVersion); running against it unchanged"
            )
        }
        var done: [Int] = []
        for migration in self.migrations where !applied.contains(migration.version) {
            try await database.write { sql in
                try await migration.apply(sql, flavor)
                try await sql.raw(
                    """
                    INSERT INTO "aichat_schema_migrations" ("version", "name", "appliedAt")
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Timestamp.now().milliseconds))
                    """
                ).run()
            }
            logger.info("applied database migration \(migration.version) \(migration.name)")
            done.append(migration.version)
        }
        return done
    }

    public func appliedVersions(_ database: any AppDatabase) async throws -> Set<Int> {
        try await database.read { sql in
            let rows = try await sql.raw(#"SELECT "version" FROM "aichat_schema_migrations""#).all()
            return Set(try rows.map { try $0.decode(column: "version", as: Int.self) })
        }
    }

    public func currentVersion(_ database: any AppDatabase) async throws -> Int {
        try await self.appliedVersions(database).max() ?? 0
    }
}

/// Introspection helpers shared by migrations.
enum SchemaInspector {
    static func columns(of table: String, in sql: any SQLDatabase, flavor: SQLFlavor) async throws -> Set<String> {
        switch flavor {
            case .sqlite:
                let rows = try await sql.raw("PRAGMA table_info(\(ident: table))").all()
                return Set(try rows.map { try $0.decode(column: "name", as: String.self) })
            case .postgres:
                let rows = try await sql.raw(
                    "SELECT column_name::text AS column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(bind: table)"
                ).all()
                return Set(try rows.map { try $0.decode(column: "column_name", as: String.self) })
        }
    }

    /// Adds a column unless the table already has it.
    static func addColumn(_ column: String, definition: String, to table: String, in sql: any SQLDatabase, flavor: SQLFlavor) async throws {
        let existing = try await self.columns(of: table, in: sql, flavor: flavor)
        guard !existing.contains(column) else { return }
        try await sql.raw("ALTER TABLE \(ident: table) ADD COLUMN \(ident: column) \(unsafeRaw: definition)").run()
    }
}
