import Foundation

/// A request body that is a JSON object, with typed accessors that throw a 400 ``APIError`` naming the field.
///
/// Unknown keys are ignored. Accessors distinguish an absent key from an explicit `null`, so endpoints that
/// clear a value on `null` (or on an empty string) can tell the two apart.
public struct JSONObject: Sendable {
    public let fields: [String: JSONValue]

    public init(_ fields: [String: JSONValue]) {
        self.fields = fields
    }

    /// What a request said about one key.
    public enum Presence<Value> {
        case absent
        case null
        case value(Value)

        /// The value, or nil when absent or null.
        public var value: Value? {
            if case .value(let value) = self { return value }
            return nil
        }

        public var isAbsent: Bool {
            if case .absent = self { return true }
            return false
        }
    }

    public func contains(_ key: String) -> Bool { self.fields[key] != nil }

    // MARK: Strings

    public func string(_ key: String, minLength: Int = 0, maxLength: Int = .max, trim: Bool = false) throws -> String {
        guard let value = try self.optionalString(key, minLength: minLength, maxLength: maxLength, trim: trim) else {
            throw APIError.invalidField(key, "is required")
        }
        return value
    }

    public func optionalString(_ key: String, minLength: Int = 0, maxLength: Int = .max, trim: Bool = false) throws -> String? {
        try self.presentString(key, minLength: minLength, maxLength: maxLength, trim: trim).value
    }

    /// A string field where `null` is reported separately from an absent key.
    public func presentString(_ key: String, minLength: Int = 0, maxLength: Int = .max, trim: Bool = false) throws -> Presence<String> {
        switch self.fields[key] {
            case .none: return .absent
            case .null: return .null
            case .string(let raw):
                let value = trim ? raw.trimmingCharacters(in: .whitespacesAndNewlines) : raw
                if value.count < minLength {
                    throw APIError.invalidField(key, minLength == 1 ? "must not be empty" : "must be at least \(minLength) characters")
                }
                if value.count > maxLength {
                    throw APIError.invalidField(key, "must be at most \(maxLength) characters")
                }
                return .value(value)
            case .some(let other):
                throw APIError.invalidField(key, "must be a string, not \(other.typeName)")
        }
    }

    // MARK: Numbers

    public func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = try self.optionalInteger(key, in: range) else {
            throw APIError.invalidField(key, "is required")
        }
        return value
    }

    public func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        try self.presentInteger(key, in: range).value
    }

    public func presentInteger(_ key: String, in range: ClosedRange<Int>) throws -> Presence<Int> {
        switch self.fields[key] {
            case .none: return .absent
            case .null: return .null
            case .number(let number):
                guard number.rounded() == number, number.isFinite else {
                    throw APIError.invalidField(key, "must be an integer")
                }
                // Int(exactly:) refuses what does not fit in Int: Double(Int.max) is 2^63, one past Int.max.
                guard let value = Int(exactly: number), range.contains(value) else {
                    throw APIError.invalidField(key, Self.rangeText(range))
                }
                return .value(value)
            case .some(let other):
                throw APIError.invalidField(key, "must be a number, not \(other.typeName)")
        }
    }

    static func rangeText(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == .max { return "must be at least \(range.lowerBound)" }
        return "must be between \(range.lowerBound) and \(range.upperBound)"
    }

    // MARK: Booleans

    public func optionalBool(_ key: String) throws -> Bool? {
        try self.presentBool(key).value
    }

    public func presentBool(_ key: String) throws -> Presence<Bool> {
        switch self.fields[key] {
            case .none: return .absent
            case .null: return .null
            case .bool(let value): return .value(value)
            case .some(let other): throw APIError.invalidField(key, "must be a boolean, not \(other.typeName)")
        }
    }

    // MARK: Enumerations

    public func optionalChoice<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type) throws -> T?
    where T.RawValue == String {
        try self.presentChoice(key, as: type).value
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type) throws -> T
    where T.RawValue == String {
        guard let value = try self.optionalChoice(key, as: type) else {
            throw APIError.invalidField(key, "is required")
        }
        return value
    }

    public func presentChoice<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type) throws -> Presence<T>
    where T.RawValue == String {
        switch try self.presentString(key) {
            case .absent: return .absent
            case .null: return .null
            case .value(let raw):
                guard let value = T(rawValue: raw) else {
                    let accepted = T.allCases.map(\.rawValue).joined(separator: ", ")
                    throw APIError.invalidField(key, "must be one of: \(accepted)")
                }
                return .value(value)
        }
    }

    // MARK: Nested values

    public func raw(_ key: String) -> JSONValue? { self.fields[key] }
}
