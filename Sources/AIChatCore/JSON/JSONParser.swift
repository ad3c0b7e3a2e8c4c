/// A strict JSON reader (RFC 8259) producing ``JSONValue``: one value, optional surrounding whitespace, nesting
/// bounded by ``maxDepth``, strings valid UTF-8 with escapes checked (an unpaired surrogate is an error). A repeated
/// key keeps its last value.
struct JSONParser {
    struct Failure: Error, CustomStringConvertible {
        let offset: Int
        let reason: String

        var description: String { "\(self.reason) at byte \(self.offset)" }
    }

    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected data after the value") }
        return value
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func failure(_ reason: String) -> Failure {
        Failure(offset: self.index, reason: reason)
    }

    private var current: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    private mutating func skipWhitespace() {
        while let byte = self.current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { self.index += 1 }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        guard let byte = self.current else { throw self.failure("a value is missing") }
        switch byte {
            case UInt8(ascii: "{"): return try self.object()
            case UInt8(ascii: "["): return try self.array()
            case UInt8(ascii: "\""): return .string(try self.string())
            case UInt8(ascii: "t"): return try self.literal("true", .bool(true))
            case UInt8(ascii: "f"): return try self.literal("false", .bool(false))
            case UInt8(ascii: "n"): return try self.literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.number())
            default: throw self.failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { throw self.failure("unexpected end") }
        for offset in 0..<count where self.bytes[self.index + offset] != word.utf8Start[offset] {
            throw self.failure("unexpected character")
        }
        self.index += count
        return value
    }

    private mutating func enter() throws(Failure) {
        self.depth += 1
        guard self.depth <= Self.maxDepth else { throw self.failure("nested too deeply") }
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try self.enter()
        self.index += 1
        var fields: [String: JSONValue] = [:]
        self.skipWhitespace()
        if self.current == UInt8(ascii: "}") {
            self.index += 1
            self.depth -= 1
            return .object(fields)
        }
        while true {
            guard self.current == UInt8(ascii: "\"") else { throw self.failure("a key is missing") }
            let key = try self.string()
            self.skipWhitespace()
            guard self.current == UInt8(ascii: ":") else { throw self.failure("':' is missing") }
            self.index += 1
            self.skipWhitespace()
            fields[key] = try self.value()
            self.skipWhitespace()
            switch self.current {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhitespace()
                case UInt8(ascii: "}"):
                    self.index += 1
                    self.depth -= 1
                    return .object(fields)
                default: throw self.failure("',' or '}' is missing")
            }
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try self.enter()
        self.index += 1
        var items: [JSONValue] = []
        self.skipWhitespace()
        if self.current == UInt8(ascii: "]") {
            self.index += 1
            self.depth -= 1
            return .array(items)
        }
        while true {
            items.append(try self.value())
            self.skipWhitespace()
            switch self.current {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhitespace()
                case UInt8(ascii: "]"):
                    self.index += 1
                    self.depth -= 1
                    return .array(items)
                default: throw self.failure("',' or ']' is missing")
            }
        }
    }

    private mutating func number() throws(Failure) -> Double {
        let start = self.index
        if self.current == UInt8(ascii: "-") { self.index += 1 }
        guard let first = self.current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw self.failure("a digit is missing") }
        if first == UInt8(ascii: "0") {
            self.index += 1
        } else {
            self.skipDigits()
        }
        if self.current == UInt8(ascii: ".") {
            self.index += 1
            guard self.skipDigits() > 0 else { throw self.failure("a digit is missing") }
        }
        if self.current == UInt8(ascii: "e") || self.current == UInt8(ascii: "E") {
            self.index += 1
            if self.current == UInt8(ascii: "+") || self.current == UInt8(ascii: "-") { self.index += 1 }
            guard self.skipDigits() > 0 else { throw self.failure("a digit is missing") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else { throw Failure(offset: start, reason: "number out of range") }
        return number
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = self.index
        while let byte = self.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { self.index += 1 }
        return self.index - start
    }

    private mutating func string() throws(Failure) -> String {
        self.index += 1
        let start = self.index
        // The common case: no escapes, copied at once once the bytes are known to be valid UTF-8.
        while let byte = self.current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw self.failure("control character in a string") }
            self.index += 1
        }
        guard let stop = self.current else { throw self.failure("unterminated string") }
        var utf8 = Array(UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]))
        if stop == UInt8(ascii: "\\") {
            try self.escapedRest(into: &utf8)
        } else {
            self.index += 1
        }
        guard let text = String(validating: utf8, as: UTF8.self) else { throw Failure(offset: start, reason: "invalid UTF-8 in a string") }
        return text
    }

    /// The rest of a string from its first backslash, unescaped into `utf8`; ends after the closing quote.
    private mutating func escapedRest(into utf8: inout [UInt8]) throws(Failure) {
        while let byte = self.current {
            self.index += 1
            switch byte {
                case UInt8(ascii: "\""): return
                case UInt8(ascii: "\\"):
                    guard let escape = self.current else { throw self.failure("unterminated string") }
                    self.index += 1
                    switch escape {
                        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                        case UInt8(ascii: "b"): utf8.append(0x08)
                        case UInt8(ascii: "f"): utf8.append(0x0C)
                        case UInt8(ascii: "n"): utf8.append(0x0A)
                        case UInt8(ascii: "r"): utf8.append(0x0D)
                        case UInt8(ascii: "t"): utf8.append(0x09)
                        case UInt8(ascii: "u"): try self.unicodeEscape(into: &utf8)
                        default: throw self.failure("invalid escape")
                    }
                case 0..<0x20: throw self.failure("control character in a string")
                default: utf8.append(byte)
            }
        }
        throw self.failure("unterminated string")
    }

    private mutating func unicodeEscape(into utf8: inout [UInt8]) throws(Failure) {
        var scalar = try self.hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard self.index + 1 < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\\"), self.bytes[self.index + 1] == UInt8(ascii: "u")
            else { throw self.failure("unpaired surrogate") }
            self.index += 2
            let low = try self.hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw self.failure("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw self.failure("unpaired surrogate")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw self.failure("invalid escape") }
        UTF8.encode(unicode) { utf8.append($0) }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard self.index + 4 <= self.bytes.count else { throw self.failure("unterminated escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            let digit: UInt8
            switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw self.failure("invalid escape")
            }
            value = value << 4 | UInt32(digit)
            self.index += 1
        }
        return value
    }
}
