import Foundation
import Logging
import PostgresKit
import SQLKit

/// PostgreSQL through a pooled client, for deployments with several backend replicas.
///
/// Writes take a transaction-scoped advisory lock, so they are serialised across replicas exactly like the
/// single SQLite writer, and the same repository code keeps its check-then-insert guarantees.
public final class PostgresAppDatabase: AppDatabase {
    public let flavor = SQLFlavor.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    static let writeLockKey = 0x41_49_43_48

    private init(client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
        self.client = client
        self.runner = runner
        self.logger = logger
    }

    /// Connects to `postgres://user:password@host:port/database` (TLS is not used; keep the database on a
    /// private network).
    public static func open(url: String, logger: Logger) async throws -> PostgresAppDatabase {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw DatabaseError("DATABASE_URL is not a valid postgres:// URL")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: database.isEmpty ? nil : database,
            tls: .disable
        )
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // The first query waits until the runner is about to start the pool: a lease before `run()` works but
        // logs a warning at every start.
        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        let runner = Task {
            starting.finish()
            await client.run()
        }
        for await _ in started {}
        let store = PostgresAppDatabase(client: client, runner: runner, logger: logger)
        do {
            _ = try await store.read { sql in try await sql.raw("SELECT 1 AS \"ok\"").first() }
        } catch {
            runner.cancel()
            throw DatabaseError("cannot connect to PostgreSQL at \(host): \(String(reflecting: error))")
        }
        return store
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await self.client.withConnection { connection in
            try await body(connection.sql())
        }
    }

    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            return try await self.client.withTransaction(logger: self.logger) { connection in
                let sql = connection.sql()
                try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: Self.writeLockKey))").run()
                return try await body(sql)
            }
        } catch let error as PostgresTransactionError {
            // Surface what the block threw (a domain error such as a refused registration), not the wrapper.
            if let closureError = error.closureError, error.commitError == nil, error.beginError == nil { throw closureError }
            throw error
        }
    }

    public func writeStatements<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await self.client.withConnection { connection in
            try await body(connection.sql())
        }
    }

    public func close() async {
        self.runner.cancel()
    }
}
