import AIChatCore

/// A `Decoder` reading a parsed ``JSONValue``, with `JSONDecoder`'s rules for what converts: strings only from
/// strings, booleans only from booleans, integers from whole numbers (held to the type's range, where
/// `JSONDecoder` would read the digits exactly), floating point from any number.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, codingPath: [any CodingKey] = []) {
        self.value = value
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = self.value else { throw Self.mismatch([String: Any].self, self.value, self.codingPath) }
        return KeyedDecodingContainer(Keyed<Key>(fields: fields, codingPath: self.codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = self.value else { throw Self.mismatch([Any].self, self.value, self.codingPath) }
        return Unkeyed(items: items, codingPath: self.codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: self.value, codingPath: self.codingPath) }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        DecodingError.typeMismatch(type, .init(codingPath: path, debugDescription: "found \(value.typeName)"))
    }

    /// `value` as `T`: the scalar types directly, anything else through its own `init(from:)`.
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, codingPath: [any CodingKey]) throws -> T {
        switch value {
            case .string(let text): if let text = text as? T { return text }
            case .bool(let flag): if let flag = flag as? T { return flag }
            case .number(let number):
                if T.self == Double.self { return number as! T }
                if T.self == Float.self { return Float(number) as! T }
                if let integer = try Self.integer(number, as: type, value, codingPath) { return integer }
            case .null:
                if Self.isScalar(type) { throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "found null")) }
            case .array, .object: break
        }
        // A scalar type that did not match is a mismatch (its own `init(from:)` would ask this decoder again).
        if Self.isScalar(type) { throw Self.mismatch(type, value, codingPath) }
        return try T(from: JSONValueDecoder(value, codingPath: codingPath))
    }

    static func isScalar<T>(_ type: T.Type) -> Bool {
        T.self == String.self || T.self == Bool.self || T.self is any FixedWidthInteger.Type || T.self is any BinaryFloatingPoint.Type
    }

    /// `number` as the integer type `T`, nil when `T` is not one.
    private static func integer<T>(_ number: Double, as type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T? {
        guard let integerType = T.self as? any FixedWidthInteger.Type else { return nil }
        guard number.rounded() == number else { throw Self.mismatch(type, value, path) }
        return Self.saturating(number, integerType) as? T
    }

    private static func saturating<I: FixedWidthInteger>(_ number: Double, _ type: I.Type) -> I {
        if number >= Double(I.max) { return I.max }
        if number <= Double(I.min) { return I.min }
        return I(number)
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: JSONValue]
        let codingPath: [any CodingKey]

        var allKeys: [Key] { self.fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { self.fields[key.stringValue] != nil }

        private func value(_ key: Key) throws -> JSONValue {
            guard let value = self.fields[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: self.codingPath, debugDescription: "no value for \(key.stringValue)"))
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { try self.value(key) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try JSONValueDecoder.decode(type, from: try self.value(key), codingPath: self.codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try JSONValueDecoder(try self.value(key), codingPath: self.codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try JSONValueDecoder(try self.value(key), codingPath: self.codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { JSONValueDecoder(.object(self.fields), codingPath: self.codingPath) }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            JSONValueDecoder(self.fields[key.stringValue] ?? .null, codingPath: self.codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0

        init(items: [JSONValue], codingPath: [any CodingKey]) {
            self.items = items
            self.codingPath = codingPath
        }

        var count: Int? { self.items.count }
        var isAtEnd: Bool { self.currentIndex >= self.items.count }

        private mutating func next() throws -> (JSONValue, [any CodingKey]) {
            guard !self.isAtEnd else {
                throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: self.codingPath, debugDescription: "no more items"))
            }
            defer { self.currentIndex += 1 }
            return (self.items[self.currentIndex], self.codingPath + [IndexKey(intValue: self.currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !self.isAtEnd, self.items[self.currentIndex] == .null else { return false }
            self.currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (value, path) = try self.next()
            return try JSONValueDecoder.decode(type, from: value, codingPath: path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (value, path) = try self.next()
            return try JSONValueDecoder(value, codingPath: path).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (value, path) = try self.next()
            return try JSONValueDecoder(value, codingPath: path).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (value, path) = try self.next()
            return JSONValueDecoder(value, codingPath: path)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let value: JSONValue
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { self.value == .null }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONValueDecoder.decode(type, from: self.value, codingPath: self.codingPath)
        }
    }

    struct IndexKey: CodingKey {
        let intValue: Int?
        var stringValue: String { "\(self.intValue ?? 0)" }

        init(intValue: Int) {
            self.intValue = intValue
        }

        init?(stringValue: String) {
            nil
        }
    }
}
