import SQLKit

/// The SQL dialect family a store runs on; DDL differs, queries do not.
public enum SQLFlavor: Sendable {
    case sqlite
    case postgres
}

/// The database seam every repository is written against.
///
/// Reads may run concurrently; writes run one at a time inside a transaction, so a check-then-insert in one
/// `write` block is atomic (first-user-becomes-admin relies on this).
public protocol AppDatabase: Sendable {
    var flavor: SQLFlavor { get }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// For writes whose statements are each atomic on their own (no explicit transaction), still one writer at a
    /// time on SQLite.
    func writeStatements<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Closes every connection; the store is unusable afterwards.
    func close() async
}

/// Database failures that are not the caller's fault; they surface as 500 without details.
public struct DatabaseError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
