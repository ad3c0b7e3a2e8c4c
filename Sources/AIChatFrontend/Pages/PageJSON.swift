import Foundation

/// JSON embedded in a page inside `<script type="application/json">`, which the browser never executes.
enum PageJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Escapes the characters that could end the script element or start markup inside it.
    static func scriptSafe(_ json: String) -> String {
        var result = ""
        result.reserveCapacity(json.utf8.count)
        for character in json.unicodeScalars {
            switch character {
                case "<": result += "\\u003c"
                case ">": result += "\\u003e"
                case "&": result += "\\u0026"
                case "\u{2028}": result += "\\u2028"
                case "\u{2029}": result += "\\u2029"
                default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    static func encode(_ value: some Encodable) -> String {
        guard let data = try? self.encoder.encode(value) else { return "null" }
        return self.scriptSafe(String(decoding: data, as: UTF8.self))
    }
}
