import AIChatCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import VaporCSQLite

/// One open SQLite connection that keeps its statements prepared and runs them on the database's own threads.
///
/// A statement blocks the thread it runs on while SQLite reads or writes the file, which on a cold cache or a network
/// volume can take long: so statements never run on an event loop or the tasks' shared threads, but on
/// ``threads``, a pool of their own (one hop there and back per statement). Waits for another process's lock are
/// retried with a suspension instead of a sleeping thread, and checkpoints run on a connection of their own
/// (``SQLiteAppDatabase``).
///
/// Not safe for concurrent use: the owner hands it to one task at a time.
final class SQLiteHandle: @unchecked Sendable {
    private var raw: OpaquePointer?
    private var statements: [String: PreparedStatement] = [:]
    let path: String

    /// Prepared statements kept per connection; beyond this the cache starts over (queries built with a varying
    /// number of placeholders would otherwise fill it).
    static let statementCacheLimit = 96
    /// How long a statement keeps retrying while another process holds a lock it needs.
    let busyLimit: Duration

    /// A compiled statement and the names of its result columns.
    final class PreparedStatement {
        let raw: OpaquePointer
        let columns: SQLiteColumns

        init(raw: OpaquePointer) {
            self.raw = raw
            let count = sqlite_nio_sqlite3_column_count(raw)
            var names: [String] = []
            names.reserveCapacity(Int(count))
            for index in 0..<count {
                names.append(sqlite_nio_sqlite3_column_name(raw, index).map { String(cString: $0) } ?? "")
            }
            self.columns = SQLiteColumns(names)
        }

        deinit {
            sqlite_nio_sqlite3_finalize(self.raw)
        }
    }

    /// Opens (creating when missing) the database at `path`.
    init(path: String, busyLimit: Duration = .seconds(5)) throws {
        self.path = path
        self.busyLimit = busyLimit
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "status \(status)"
            sqlite_nio_sqlite3_close(handle)
            throw DatabaseError("cannot open the database \(path): \(message)")
        }
        self.raw = handle
        sqlite_nio_sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        self.close()
    }

    var isClosed: Bool { self.raw == nil }

    /// The `sqlite3` pointer, for hooks installed by the owner.
    var rawHandle: OpaquePointer? { self.raw }

    func close() {
        self.statements.removeAll()
        if let raw = self.raw {
            sqlite_nio_sqlite3_close_v2(raw)
            self.raw = nil
        }
    }

    /// The threads statements run on: as many as the database has connections at most (one writer, four readers).
    static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 5)
        pool.start()
        return pool
    }()

    /// `sql` with `binds`, run on ``threads``; `onRow` gets each result row afterwards, on the caller. A statement that
    /// finds the database locked by another process is tried again after a short suspension, for up to ``busyLimit``.
    func execute(_ sql: String, _ binds: [any Encodable & Sendable], _ onRow: (SQLiteResultRow) throws -> Void) async throws {
        var waited = Duration.zero
        var pause = Duration.milliseconds(1)
        while true {
            let (status, rows) = try await Self.threads.runIfActive {
                var rows: [SQLiteResultRow] = []
                let status = try self.run(sql, binds) { rows.append($0) }
                return (status, rows)
            }
            for row in rows { try onRow(row) }
            guard Self.isBusy(status) else { return }
            // A statement that already produced rows is not repeated (its rows would arrive twice).
            guard rows.isEmpty, waited < self.busyLimit else { throw self.failure(status, sql: sql) }
            try await Task.sleep(for: pause)
            waited += pause
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Runs `sql` synchronously; returns `SQLITE_DONE` or a busy status (which the caller may retry).
    func run(_ sql: String, _ binds: [any Encodable & Sendable], _ onRow: (SQLiteResultRow) throws -> Void) throws -> Int32 {
        guard let connection = self.raw else { throw DatabaseError("the database is closed") }
        let statement = try self.prepared(sql, connection: connection)
        let raw = statement.raw
        // Bindings are replaced, never cleared: clearing marks a statement whose plan depends on a bound value
        // (a `LIMIT ?`, for one) for preparing anew, while binding the same integer again keeps its plan.
        defer { sqlite_nio_sqlite3_reset(raw) }
        guard sqlite_nio_sqlite3_bind_parameter_count(raw) == binds.count else {
            throw DatabaseError("the statement takes \(sqlite_nio_sqlite3_bind_parameter_count(raw)) values, not \(binds.count)")
        }
        for (offset, value) in binds.enumerated() {
            let status = try SQLiteBinding.bind(value, to: raw, at: Int32(offset + 1))
            guard status == SQLITE_OK else { throw self.failure(status, sql: sql) }
        }
        while true {
            let status = sqlite_nio_sqlite3_step(raw)
            switch status {
                case SQLITE_ROW:
                    try onRow(SQLiteResultRow(columns: statement.columns, values: Self.values(of: raw, count: statement.columns.names.count)))
                case SQLITE_DONE:
                    return status
                default:
                    if Self.isBusy(status) { return status }
                    throw self.failure(status, sql: sql)
            }
        }
    }

    private func prepared(_ sql: String, connection: OpaquePointer) throws -> PreparedStatement {
        if let cached = self.statements[sql] { return cached }
        var raw: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard status == SQLITE_OK, let raw else { throw self.failure(status, sql: sql) }
        let statement = PreparedStatement(raw: raw)
        if self.statements.count >= Self.statementCacheLimit { self.statements.removeAll() }
        self.statements[sql] = statement
        return statement
    }

    private static func values(of statement: OpaquePointer, count: Int) -> [SQLiteValue] {
        var values: [SQLiteValue] = []
        values.reserveCapacity(count)
        for index in 0..<Int32(count) {
            switch sqlite_nio_sqlite3_column_type(statement, index) {
                case SQLITE_INTEGER: values.append(.integer(sqlite_nio_sqlite3_column_int64(statement, index)))
                case SQLITE_FLOAT: values.append(.float(sqlite_nio_sqlite3_column_double(statement, index)))
                case SQLITE_TEXT:
                    let length = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
                    let text = sqlite_nio_sqlite3_column_text(statement, index).map {
                        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                    }
                    values.append(.text(text ?? ""))
                case SQLITE_BLOB:
                    let length = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
                    let bytes = sqlite_nio_sqlite3_column_blob(statement, index).map {
                        [UInt8](UnsafeRawBufferPointer(start: $0, count: length))
                    }
                    values.append(.blob(bytes ?? []))
                default: values.append(.null)
            }
        }
        return values
    }

    static func isBusy(_ status: Int32) -> Bool {
        status & 0xFF == SQLITE_BUSY || status & 0xFF == SQLITE_LOCKED
    }

    private func failure(_ status: Int32, sql: String) -> SQLiteFailure {
        let message = self.raw.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "closed"
        return SQLiteFailure(status: status, message: message, sql: sql)
    }

    /// This connection as SQLKit sees it.
    func sql(logger: Logger, eventLoop: any EventLoop) -> any SQLDatabase {
        SQLiteDirectDatabase(handle: self, logger: logger, eventLoop: eventLoop)
    }
}

/// A failed statement: SQLite's status and message (logged, never shown to users).
struct SQLiteFailure: Error, CustomStringConvertible {
    let status: Int32
    let message: String
    let sql: String

    var description: String { "SQLite error \(self.status): \(self.message) (in: \(self.sql.prefix(200)))" }
}

/// A column value as SQLite stored it.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case float(Double)
    case text(String)
    case blob([UInt8])
}

/// The column names of a statement's results, shared by all its rows.
final class SQLiteColumns: Sendable {
    let names: [String]
    let offsets: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var offsets: [String: Int] = [:]
        for (offset, name) in names.enumerated() where offsets[name] == nil { offsets[name] = offset }
        self.offsets = offsets
    }
}

/// One result row. Values convert as SQLite would present them: integers from integer columns, numbers from
/// integer or real columns, text from text or numeric columns.
struct SQLiteResultRow: SQLRow, Sendable {
    let columns: SQLiteColumns
    let values: [SQLiteValue]

    var allColumns: [String] { self.columns.names }

    func contains(column: String) -> Bool { self.columns.offsets[column] != nil }

    func value(_ column: String) throws -> SQLiteValue {
        guard let offset = self.columns.offsets[column] else {
            throw DecodingError.keyNotFound(SQLiteColumnKey(column), .init(codingPath: [], debugDescription: "no column \(column)"))
        }
        return self.values[offset]
    }

    func decodeNil(column: String) throws -> Bool {
        try self.value(column) == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try self.value(column)
        if let converted = SQLiteValueConversion.convert(value, to: type) { return converted }
        return try D(from: SQLiteValueDecoder(value: value, column: column))
    }
}

struct SQLiteColumnKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) {
        self.stringValue = name
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        nil
    }
}

/// The direct conversions of stored values to the types rows are read as.
enum SQLiteValueConversion {
    static func convert<D>(_ value: SQLiteValue, to type: D.Type) -> D? {
        switch value {
            case .integer(let number):
                if D.self == Int.self { return Int(exactly: number) as? D }
                if D.self == Int64.self { return number as? D }
                if D.self == Double.self { return Double(number) as? D }
                if D.self == String.self { return String(number) as? D }
                if D.self == Bool.self { return (number == 0 ? false : number == 1 ? true : nil) as? D }
            case .float(let number):
                if D.self == Double.self { return number as? D }
                if D.self == String.self { return String(number) as? D }
            case .text(let text):
                if D.self == String.self { return text as? D }
            case .blob(let bytes):
                if D.self == Data.self { return Data(bytes) as? D }
                if D.self == [UInt8].self { return bytes as? D }
            case .null:
                return nil
        }
        return nil
    }
}

/// Decodes one stored value into a `Decodable` type that reads a single value (enums backed by raw values,
/// wrappers); anything else is a type mismatch.
struct SQLiteValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: SQLiteValue
    let column: String
    var codingPath: [any CodingKey] { [SQLiteColumnKey(self.column)] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw self.mismatch(Key.self)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw self.mismatch([Any].self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { self.value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let converted = SQLiteValueConversion.convert(self.value, to: type) { return converted }
        if T.self == Bool.self || T.self == Int.self || T.self == Int64.self || T.self == Double.self || T.self == String.self {
            throw self.mismatch(type)
        }
        if case .integer(let number) = self.value {
            if T.self == Int32.self, let narrow = Int32(exactly: number) { return narrow as! T }
            if T.self == UInt64.self, let narrow = UInt64(exactly: number) { return narrow as! T }
        }
        return try T(from: self)
    }

    private func mismatch(_ type: Any.Type) -> DecodingError {
        DecodingError.typeMismatch(type, .init(codingPath: self.codingPath, debugDescription: "column \(self.column) holds \(self.value)"))
    }
}

/// Binds SQLKit's parameters: the common types directly, optionals by what they hold, anything else by the value
/// it encodes to (a single JSON value becomes that value; an object or array is stored as its JSON text).
enum SQLiteBinding {
    static func bind(_ value: any Encodable, to statement: OpaquePointer, at index: Int32) throws -> Int32 {
        switch value {
            case let number as Int: return sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
            case let text as String: return Self.bindText(text, to: statement, at: index)
            case let optional as any OptionalBinding:
                guard let wrapped = optional.wrappedEncodable else { return sqlite_nio_sqlite3_bind_null(statement, index) }
                return try Self.bind(wrapped, to: statement, at: index)
            case let number as Int64: return sqlite_nio_sqlite3_bind_int64(statement, index, number)
            case let number as Double: return sqlite_nio_sqlite3_bind_double(statement, index, number)
            case let flag as Bool: return sqlite_nio_sqlite3_bind_int64(statement, index, flag ? 1 : 0)
            case let data as Data: return Self.bindBlob([UInt8](data), to: statement, at: index)
            case let bytes as [UInt8]: return Self.bindBlob(bytes, to: statement, at: index)
            default:
                let json = try JSONEncoder().encode(value)
                switch try? JSONValue.parse(json) {
                    case .null?: return sqlite_nio_sqlite3_bind_null(statement, index)
                    case .bool(let flag)?: return sqlite_nio_sqlite3_bind_int64(statement, index, flag ? 1 : 0)
                    case .number(let number)?:
                        if number.rounded() == number, let integer = Int64(exactly: number) {
                            return sqlite_nio_sqlite3_bind_int64(statement, index, integer)
                        }
                        return sqlite_nio_sqlite3_bind_double(statement, index, number)
                    case .string(let text)?: return Self.bindText(text, to: statement, at: index)
                    case .array?, .object?, nil: return Self.bindText(String(decoding: json, as: UTF8.self), to: statement, at: index)
                }
        }
    }

    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bindText(_ text: String, to statement: OpaquePointer, at index: Int32) -> Int32 {
        var text = text
        return text.withUTF8 {
            sqlite_nio_sqlite3_bind_text64(
                statement, index, UnsafeRawPointer($0.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                UInt64($0.count), Self.transient, UInt8(SQLITE_UTF8)
            )
        }
    }

    private static func bindBlob(_ bytes: [UInt8], to statement: OpaquePointer, at index: Int32) -> Int32 {
        bytes.withUnsafeBytes {
            sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64($0.count), Self.transient)
        }
    }
}

/// An optional parameter, seen through to what it holds.
protocol OptionalBinding {
    var wrappedEncodable: (any Encodable)? { get }
}

extension Optional: OptionalBinding where Wrapped: Encodable {
    var wrappedEncodable: (any Encodable)? { self.map { $0 } }
}

/// SQLKit's view of one ``SQLiteHandle``: statements run on the caller's thread.
struct SQLiteDirectDatabase: SQLDatabase {
    let handle: SQLiteHandle
    let logger: Logger
    let eventLoop: any EventLoop

    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await self.execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = self.serialize(query)
        try await self.handle.execute(sql, binds) { onRow($0) }
    }
}
