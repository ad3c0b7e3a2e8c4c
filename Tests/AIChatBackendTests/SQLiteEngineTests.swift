import AIChatCore
import Foundation
import SQLKit
import Synchronization
import Testing

@testable import AIChatBackend

/// The SQLite store's own statement runner: values in and out, prepared statements run again, locks held by
/// another process, checkpoints, closing.
@Suite struct SQLiteEngineTests {
    static func open(_ directory: TemporaryDirectory, busyLimit: Duration = .seconds(5)) async throws -> SQLiteAppDatabase {
        let database = try await SQLiteAppDatabase.open(path: directory.path + "/app.db", busyLimit: busyLimit, logger: TestEnv.logger)
        try await database.write { sql in
            try await sql.raw(#"CREATE TABLE "t" ("id" INTEGER PRIMARY KEY, "n" INTEGER, "r" REAL, "s" TEXT, "b" BLOB)"#).run()
        }
        return database
    }

    enum Color: String, Codable, Sendable {
        case red
    }

    @Test func valuesGoInAndComeOutAsStored() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await Self.open(directory)
        defer { Task { await database.close() } }
        let blob = Data([0, 1, 2, 255])
        let noText: String? = nil
        try await database.write { sql in
            try await sql.raw(#"INSERT INTO "t" VALUES (1, \#(bind: Int64.max), \#(bind: 2.5), \#(bind: "héllo ✓"), \#(bind: blob))"#).run()
            try await sql.raw(#"INSERT INTO "t" VALUES (2, \#(bind: true), \#(bind: 3), \#(bind: Color.red), NULL)"#).run()
            try await sql.raw(#"INSERT INTO "t" VALUES (3, \#(bind: noText), NULL, \#(bind: Timestamp(milliseconds: 0)), NULL)"#).run()
        }
        let rows = try await database.read { sql in try await sql.raw(#"SELECT * FROM "t" ORDER BY "id""#).all() }
        #expect(rows.count == 3)
        #expect(rows[0].allColumns == ["id", "n", "r", "s", "b"])
        #expect(try rows[0].decode(column: "n", as: Int64.self) == Int64.max)
        #expect(try rows[0].decode(column: "r", as: Double.self) == 2.5)
        #expect(try rows[0].decode(column: "s", as: String.self) == "héllo ✓")
        #expect(try rows[0].decode(column: "b", as: Data.self) == blob)
        #expect(try rows[1].bool("n"))
        // A real column holding a whole number, text asked of a number, and raw-value enums.
        #expect(try rows[1].decode(column: "r", as: Double.self) == 3)
        #expect(try rows[1].decode(column: "id", as: String.self) == "2")
        #expect(try rows[1].decode(column: "s", as: Color.self) == .red)
        #expect(try rows[2].decodeNil(column: "n"))
        #expect(try rows[2].optionalInt("n") == nil)
        #expect(try rows[2].timestamp("s") == Timestamp(milliseconds: 0))
        // Mismatches and unknown columns are errors, not crashes.
        #expect(throws: DecodingError.self) { try rows[0].decode(column: "s", as: Int.self) }
        #expect(throws: DecodingError.self) { try rows[0].decode(column: "nope", as: Int.self) }
        #expect(throws: DecodingError.self) { try rows[1].decode(column: "b", as: String.self) }
        #expect(!rows[0].contains(column: "nope"))
    }

    /// Statements stay prepared and are bound anew each time, including a `LIMIT` whose plan depends on its value.
    @Test func preparedStatementsRunAgainWithNewValues() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await Self.open(directory)
        defer { Task { await database.close() } }
        try await database.write { sql in
            for id in 1...20 {
                let text = "v\(id)"
                try await sql.raw(#"INSERT INTO "t" ("id", "n", "s") VALUES (\#(bind: id), \#(bind: id % 3), \#(bind: text))"#).run()
            }
        }
        for (limit, residue) in [(1, 0), (5, 1), (2, 2), (50, 0), (3, 1)] {
            let ids = try await database.read { sql in
                try await sql.raw(#"SELECT "id" FROM "t" WHERE "n" = \#(bind: residue) ORDER BY "id" LIMIT \#(bind: limit)"#).all().map {
                    try $0.int("id")
                }
            }
            #expect(ids == Array((1...20).filter { $0 % 3 == residue }.prefix(limit)))
        }
        let optional: String? = nil
        for value in ["v4", nil, "v9"] as [String?] {
            let found = try await database.read { sql in
                try await sql.raw(#"SELECT COUNT(*) AS "c" FROM "t" WHERE "s" IS \#(bind: value ?? optional)"#).first()?.int("c")
            }
            #expect(found == (value == nil ? 0 : 1))
        }
        // More placeholders than values is refused before the statement runs.
        await #expect(throws: DatabaseError.self) {
            try await database.read { sql in try await sql.raw("SELECT \(bind: 1) + ?").run() }
        }
        // A statement SQLite cannot prepare fails with an error, and the connection goes on working.
        await #expect(throws: SQLiteFailure.self) {
            try await database.read { sql in try await sql.raw("SELECT FROM nowhere").run() }
        }
        let count = try await database.read { sql in try await sql.raw(#"SELECT COUNT(*) AS "c" FROM "t""#).first()?.int("c") }
        #expect(count == 20)
    }

    /// Another process holding the write lock makes a write wait (suspended, not failing) until the lock is free;
    /// reads go on meanwhile.
    @Test func aWriteWaitsForAnotherProcessLock() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await Self.open(directory)
        defer { Task { await database.close() } }
        let other = try SQLiteHandle(path: directory.path + "/app.db")
        defer { other.close() }
        try await other.execute("BEGIN IMMEDIATE", []) { _ in }
        try await other.execute(#"INSERT INTO "t" ("id", "s") VALUES (100, 'other')"#, []) { _ in }
        let started = ContinuousClock.now
        let write = Task {
            try await database.write { sql in try await sql.raw(#"INSERT INTO "t" ("id", "s") VALUES (1, 'ours')"#).run() }
            return started.duration(to: .now)
        }
        try await Task.sleep(for: .milliseconds(300))
        let rows = try await database.read { sql in try await sql.raw(#"SELECT COUNT(*) AS "c" FROM "t""#).first()?.int("c") }
        #expect(rows == 0)
        try await other.execute("COMMIT", []) { _ in }
        let waited = try await write.value
        #expect(waited >= .milliseconds(300))
        let ids = try await database.read { sql in try await sql.raw(#"SELECT "id" FROM "t" ORDER BY "id""#).all().map { try $0.int("id") } }
        #expect(ids == [1, 100])
    }

    @Test func aLockHeldPastTheLimitFailsTheWrite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await Self.open(directory, busyLimit: .milliseconds(200))
        defer { Task { await database.close() } }
        let other = try SQLiteHandle(path: directory.path + "/app.db")
        defer { other.close() }
        try await other.execute("BEGIN IMMEDIATE", []) { _ in }
        let started = ContinuousClock.now
        await #expect(throws: SQLiteFailure.self) {
            try await database.write { sql in try await sql.raw(#"INSERT INTO "t" ("id") VALUES (1)"#).run() }
        }
        #expect(started.duration(to: .now) >= .milliseconds(200))
        try await other.execute("ROLLBACK", []) { _ in }
        // The store is usable again once the lock is gone.
        try await database.write { sql in try await sql.raw(#"INSERT INTO "t" ("id") VALUES (2)"#).run() }
    }

    /// Checkpoints run as the log grows, so it is reused instead of growing with everything ever written.
    @Test func checkpointsKeepTheLogShort() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await Self.open(directory)
        defer { Task { await database.close() } }
        let chunk = Data(repeating: 7, count: 100 * 1024)
        for id in 1...300 {
            try await database.writeStatements { sql in
                try await sql.raw(#"INSERT INTO "t" ("id", "b") VALUES (\#(bind: id), \#(bind: chunk))"#).run()
            }
        }
        let log = try FileManager.default.attributesOfItem(atPath: directory.path + "/app.db-wal")[.size] as? Int ?? 0
        // 30 MB were written back to back; a log that was never checkpointed would hold all of it.
        #expect(log > 0 && log < 20 << 20, "log is \(log) bytes")
        let count = try await database.read { sql in try await sql.raw(#"SELECT COUNT(*) AS "c" FROM "t""#).first()?.int("c") }
        #expect(count == 300)
    }

    @Test func aClosedStoreFailsInsteadOfWaiting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await Self.open(directory)
        await database.close()
        await #expect(throws: DatabaseError.self) {
            try await database.read { sql in try await sql.raw("SELECT 1").run() }
        }
    }
}
