import AIChatCore
import SQLKit

/// Typed column reads. SQLite's rows are read directly (no generic decoding or dynamic casts per column, which
/// cost more than the statement for wide rows); other drivers' rows, and values stored in another form, go through
/// `decode(column:as:)`.
extension SQLRow {
    /// The stored value when this is a SQLite row.
    private func stored(_ column: String) throws -> SQLiteValue? {
        guard let row = self as? SQLiteResultRow else { return nil }
        return try row.value(column)
    }

    func int(_ column: String) throws -> Int {
        if case .integer(let number)? = try self.stored(column), let value = Int(exactly: number) { return value }
        return try self.decode(column: column, as: Int.self)
    }

    func optionalInt(_ column: String) throws -> Int? {
        switch try self.stored(column) {
            case .null?: return nil
            case .integer(let number)?: if let value = Int(exactly: number) { return value }
            default: break
        }
        return try self.decodeNil(column: column) ? nil : self.decode(column: column, as: Int.self)
    }

    func string(_ column: String) throws -> String {
        if case .text(let text)? = try self.stored(column) { return text }
        return try self.decode(column: column, as: String.self)
    }

    func optionalString(_ column: String) throws -> String? {
        switch try self.stored(column) {
            case .null?: return nil
            case .text(let text)?: return text
            default: return try self.decodeNil(column: column) ? nil : self.decode(column: column, as: String.self)
        }
    }

    /// A flag stored as 0/1 (the original's BOOLEAN), tolerating true/false where a driver reports them.
    func optionalBool(_ column: String) throws -> Bool? {
        switch try self.stored(column) {
            case .null?: return nil
            case .integer(let number)?: return number != 0
            default: break
        }
        if try self.decodeNil(column: column) { return nil }
        if let number = try? self.decode(column: column, as: Int.self) { return number != 0 }
        return try self.decode(column: column, as: Bool.self)
    }

    func bool(_ column: String) throws -> Bool {
        try self.optionalBool(column) ?? false
    }

    /// A datetime stored as epoch milliseconds (the original's ORM), or as text in ISO-8601 or SQLite's
    /// `CURRENT_TIMESTAMP` form.
    func timestamp(_ column: String) throws -> Timestamp {
        if case .integer(let millis)? = try self.stored(column) { return Timestamp(milliseconds: millis) }
        if let millis = try? self.decode(column: column, as: Int64.self) {
            return Timestamp(milliseconds: millis)
        }
        if let seconds = try? self.decode(column: column, as: Double.self) {
            return Timestamp(milliseconds: Int64(seconds))
        }
        let text = try self.decode(column: column, as: String.self)
        if let parsed = Timestamp(parsing: text) { return parsed }
        if let millis = Int64(text) { return Timestamp(milliseconds: millis) }
        throw DatabaseError("unreadable datetime in column \(column)")
    }
}

/// A flag as stored: 0 or 1.
func flag(_ value: Bool) -> Int { value ? 1 : 0 }

/// A `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` escaped (use with `ESCAPE '\'`).
func containsPattern(_ text: String) -> String {
    var escaped = ""
    for character in text.lowercased() {
        if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
        escaped.append(character)
    }
    return "%" + escaped + "%"
}
