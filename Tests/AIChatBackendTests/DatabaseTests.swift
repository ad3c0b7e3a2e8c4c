import AIChatCore
import Foundation
import HummingbirdTesting
import SQLKit
import Synchronization
import Testing

@testable import AIChatBackend

@Suite struct DatabaseTests {
    static func fixturePath() throws -> String {
        try #require(Bundle.module.path(forResource: "original-v1.1.0", ofType: "db"))
    }

    static func tables(_ database: any AppDatabase) async throws -> Set<String> {
        try await database.read { sql in
            Set(try await sql.raw("SELECT name FROM sqlite_master WHERE type = 'table'").all().map { try $0.decode(column: "name", as: String.self) })
        }
    }

    @Test func freshDatabaseIsCreatedAndMigratedOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/nested/app.db"
        let database = try await SQLiteAppDatabase.open(path: path, logger: TestEnv.logger)
        let migrator = Migrator()
        #expect(try await migrator.migrate(database, logger: TestEnv.logger) == Migrations.all.map(\.version))
        #expect(try await migrator.migrate(database, logger: TestEnv.logger) == [])
        #expect(try await migrator.currentVersion(database) == migrator.latestVersion)
        let tables = try await Self.tables(database)
        for table in ["users", "chat_sessions", "messages", "usage_metrics", "system_settings", "connections", "model_catalog", "user_settings"] {
            #expect(tables.contains(table), "missing \(table)")
        }
        let journal = try await database.read { sql in
            try await sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
        }
        #expect(journal == "wal")
        let foreignKeys = try await database.read { sql in
            try await sql.raw("PRAGMA foreign_keys").first()?.decode(column: "foreign_keys", as: Int.self)
        }
        #expect(foreignKeys == 1)
        // Every connection, the writer's and the readers', keeps a small page cache of its own.
        let cacheSize: @Sendable (any SQLDatabase) async throws -> Int? = { sql in
            try await sql.raw("PRAGMA cache_size").first()?.decode(column: "cache_size", as: Int.self)
        }
        let readerCache = try await database.read(cacheSize)
        let writerCache = try await database.write(cacheSize)
        #expect(readerCache == -SQLiteAppDatabase.pageCacheKiB && writerCache == -SQLiteAppDatabase.pageCacheKiB)
        await database.close()
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// A database file written by the original opens, migrates in place, keeps every row, and its users log in.
    @Test func originalDatabaseOpensMigratesAndLogsIn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.copyItem(atPath: try Self.fixturePath(), toPath: directory.path + "/app.db")
        let counts =
            #"SELECT (SELECT COUNT(*) FROM "users") AS u, (SELECT COUNT(*) FROM "messages") AS m, (SELECT COUNT(*) FROM "chat_sessions") AS s, (SELECT COUNT(*) FROM "usage_metrics") AS x"#
        let before = try await Self.counts(path: directory.path + "/app.db", query: counts)

        // The original's compose file sets no ENCRYPTION_KEY; the backend generates one and still reads old keys.
        try await withBackend(["APP_MODE": "multi", "ENCRYPTION_KEY": ""], directory: directory) { backend, client in
            #expect(try await Migrator().currentVersion(backend.database) == Migrator().latestVersion)
            let admin = try await client.login("admin", "Admin12345")
            #expect(admin.status == .ok)
            #expect(admin.data?["user"]?["role"]?.string == "ADMIN")
            #expect(try await client.login("alice", "alicepass1").data?["user"]?["role"]?.string == "USER")
            let token = try #require(admin.data?["token"]?.string)

            let users = try await client.call(.get, "/api/users", token: token)
            #expect(users.data?["pagination"]?["total"]?.int == 2)
            let adminRow = try #require(users.data?["users"]?.array?.first { $0["username"]?.string == "admin" })
            #expect(adminRow["_count"]?["chatSessions"]?.int == 2)
            #expect(adminRow["createdAt"]?.string?.hasPrefix("2025-10-") == true)

            let settings = try await client.call(.get, "/api/settings/system", token: token)
            #expect(settings.data?["brand_text"]?.string == "MyChat")
            #expect(settings.data?["registration_enabled"]?.bool == true)
            #expect(settings.data?["openai_reasoning_effort"]?.string == "medium")

            let stored = try await backend.database.read { sql in
                try await sql.raw(#"SELECT "apiKey" FROM "connections" WHERE "id" = 1"#).first()?.decode(column: "apiKey", as: String.self)
            }
            #expect(try backend.cipher.decrypt(try #require(stored)) == "sk-original-test-key-123")

            let reasoning = try await backend.database.read { sql in
                try await sql.raw(#"SELECT "reasoning", "reasoningDurationSeconds", "createdAt" FROM "messages" WHERE "id" = 2"#).first()
            }
            #expect(try reasoning?.optionalInt("reasoningDurationSeconds") == 4)
            #expect(try reasoning?.timestamp("createdAt").milliseconds ?? 0 > 1_700_000_000_000)

            // New rows go next to the old ones.
            #expect(try await client.call(.post, "/api/auth/register", json: ["username": "newbie", "password": "password1"]).status == .ok)
        }
        let after = try await Self.counts(path: directory.path + "/app.db", query: counts)
        #expect(after.u == before.u + 1)
        #expect(after.m == before.m)
        #expect(after.s == before.s)
        #expect(after.x == before.x)
    }

    static func counts(path: String, query: String) async throws -> (u: Int, m: Int, s: Int, x: Int) {
        let database = try await SQLiteAppDatabase.open(path: path, logger: TestEnv.logger)
        let row = try await database.read { sql in try await sql.raw(SQLQueryString(query)).first() }
        let result = (try row?.int("u") ?? 0, try row?.int("m") ?? 0, try row?.int("s") ?? 0, try row?.int("x") ?? 0)
        await database.close()
        return result
    }

    /// After a newer build added schema, this build still starts, reads and writes: rollback by image tag is safe.
    @Test func olderBuildRunsOnANewerSchema() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withBackend(directory: directory) { _, client in
            _ = try await client.register("alice")
        }
        // A "future" build: everything of today plus a step that adds a column, a table and an index.
        let database = try await SQLiteAppDatabase.open(path: directory.path + "/app.db", logger: TestEnv.logger)
        let future = Migrator(
            migrations: Migrations.all + [
                Migration(version: 40, name: "future_feature") { sql, _ in
                    try await sql.raw(#"ALTER TABLE "users" ADD COLUMN "avatarUrl" TEXT NOT NULL DEFAULT ''"#).run()
                    try await sql.raw(#"ALTER TABLE "messages" ADD COLUMN "futureReplyTo" INTEGER"#).run()
                    try await sql.raw(
                        #"CREATE TABLE "future_things" ("id" INTEGER PRIMARY KEY, "userId" INTEGER REFERENCES "users"("id") ON DELETE CASCADE)"#
                    ).run()
                    try await sql.raw(#"INSERT INTO "future_things" ("id", "userId") VALUES (1, 1)"#).run()
                }
            ]
        )
        let applied = try? await future.migrate(database, logger: TestEnv.logger)
        await database.close()
        #expect(applied == [40])

        try await withBackend(directory: directory) { backend, client in
            #expect(try await Migrator().currentVersion(backend.database) == 40)
            let login = try await client.login("alice")
            #expect(login.status == .ok)
            let token = try #require(login.data?["token"]?.string)
            #expect(try await client.call(.put, "/api/settings/personal", json: ["theme": "dark"], token: token).status == .ok)
            #expect(
                try await client.call(.put, "/api/auth/password", json: ["currentPassword": "password1", "newPassword": "password2"], token: token)
                    .status
                    == .ok
            )
            #expect(try await client.login("alice", "password2").status == .ok)
        }
    }

    /// Without JWT_SECRET a secret is generated once, kept with mode 0600, and tokens survive a restart.
    @Test func generatedSecretsPersistAcrossRestarts() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let token = try await withBackend(["JWT_SECRET": "", "ENCRYPTION_KEY": ""], directory: directory) { _, client in
            try await client.register("alice")
        }
        let secretPath = directory.path + "/.jwt_secret"
        let attributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let secret = try String(contentsOfFile: secretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.count >= 40)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/.encryption_key"))
        try await withBackend(["JWT_SECRET": "fallback-secret-key", "ENCRYPTION_KEY": ""], directory: directory) { _, client in
            let status = try await client.call(.get, "/api/auth/me", token: token).status
            #expect(status == .ok)
        }
        let again = try String(contentsOfFile: secretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(again == secret)
    }
}

/// The semaphore behind the write lock, the reader pool and answer admission.
@Suite struct AsyncSemaphoreTests {
    @Test func neverExceedsItsPermitsAndServesWaitersInArrivalOrder() async throws {
        let semaphore = AsyncSemaphore(permits: 2)
        final class Record: Sendable {
            let state = Mutex((running: 0, peak: 0, order: [Int]()))
        }
        let record = Record()
        await semaphore.acquire()
        await semaphore.acquire()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try? await semaphore.withPermit {
                        record.state.withLock {
                            $0.running += 1; $0.peak = max($0.peak, $0.running); $0.order.append(index)
                        }
                        try await Task.sleep(for: .milliseconds(5))
                        record.state.withLock { $0.running -= 1 }
                    }
                }
                // Each waiter is queued before the next one starts.
                try? await Task.sleep(for: .milliseconds(10))
            }
            semaphore.release()
            semaphore.release()
        }
        let result = record.state.withLock { $0 }
        #expect(result.peak <= 2)
        #expect(result.order == Array(0..<8))
    }
}
