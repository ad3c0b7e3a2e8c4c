import NIOCore

extension JSONValue {
    /// Compact JSON text, slashes unescaped; object keys in ascending order with `sortedKeys` (stable output for
    /// requests), otherwise in the dictionary's order. Whole numbers below 2^53 are written without a fraction.
    public func write(into buffer: inout ByteBuffer, sortedKeys: Bool = false) {
        switch self {
            case .null: buffer.writeStaticString("null")
            case .bool(let value): buffer.writeStaticString(value ? "true" : "false")
            case .number(let value):
                if !value.isFinite {
                    buffer.writeStaticString("null")
                } else if value.rounded() == value, abs(value) < 9.0e15 {
                    buffer.writeString(String(Int64(value)))
                } else {
                    buffer.writeString(value.description)
                }
            case .string(let value):
                buffer.writeInteger(UInt8(ascii: "\""))
                JSONValue.writeEscaped(value, into: &buffer)
                buffer.writeInteger(UInt8(ascii: "\""))
            case .array(let values):
                buffer.writeInteger(UInt8(ascii: "["))
                for (index, value) in values.enumerated() {
                    if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                    value.write(into: &buffer, sortedKeys: sortedKeys)
                }
                buffer.writeInteger(UInt8(ascii: "]"))
            case .object(let fields):
                buffer.writeInteger(UInt8(ascii: "{"))
                var first = true
                func member(_ key: String, _ value: JSONValue) {
                    if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                    first = false
                    buffer.writeInteger(UInt8(ascii: "\""))
                    JSONValue.writeEscaped(key, into: &buffer)
                    buffer.writeStaticString("\":")
                    value.write(into: &buffer, sortedKeys: sortedKeys)
                }
                if sortedKeys {
                    for key in fields.keys.sorted() { member(key, fields[key]!) }
                } else {
                    for (key, value) in fields { member(key, value) }
                }
                buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// The value as compact JSON text (see ``write(into:sortedKeys:)``).
    public func encoded(sortedKeys: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        self.write(into: &buffer, sortedKeys: sortedKeys)
        return buffer
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The inside of a JSON string: quotes, backslashes and control characters escaped, everything else as UTF-8.
    public static func writeEscaped(_ text: String, into buffer: inout ByteBuffer) {
        let utf8 = text.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                buffer.writeBytes(utf8[start..<index])
                switch byte {
                    case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                    case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                    case 0x0A: buffer.writeStaticString("\\n")
                    case 0x0D: buffer.writeStaticString("\\r")
                    case 0x09: buffer.writeStaticString("\\t")
                    case 0x08: buffer.writeStaticString("\\b")
                    case 0x0C: buffer.writeStaticString("\\f")
                    default:
                        buffer.writeStaticString("\\u00")
                        buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
                        buffer.writeInteger(Self.hexDigits[Int(byte & 0xF)])
                }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        buffer.writeBytes(utf8[start..<index])
    }
}
