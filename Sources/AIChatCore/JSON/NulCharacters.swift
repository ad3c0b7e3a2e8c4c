import Foundation

/// U+0000 in text: PostgreSQL cannot store it, and no chat text needs it.

extension String {
    /// The text without U+0000, for text from elsewhere (a provider's answer, a model id) that is to be stored.
    public var withoutNulCharacters: String {
        self.utf8.contains(0) ? self.replacingOccurrences(of: "\u{0}", with: "") : self
    }
}

extension JSONValue {
    /// Whether any string or key in the value holds U+0000.
    var containsNulCharacter: Bool {
        switch self {
            case .string(let text): text.utf8.contains(0)
            case .array(let items): items.contains { $0.containsNulCharacter }
            case .object(let fields): fields.contains { $0.key.utf8.contains(0) || $0.value.containsNulCharacter }
            default: false
        }
    }
}
