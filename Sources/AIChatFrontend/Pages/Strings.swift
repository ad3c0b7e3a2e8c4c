import AIChatCore
import Foundation
import Mustache

/// The interface languages; Simplified Chinese is the default.
public enum Language: String, CaseIterable, Sendable {
    case zhCN = "zh-CN"
    case en

    /// `zh`, `zh-cn`, `zh-Hans` → Chinese; `en`, `en-US` → English; anything else is nil.
    init?(loose raw: String) {
        let value = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if value.hasPrefix("zh") {
            self = .zhCN
        } else if value.hasPrefix("en") {
            self = .en
        } else {
            return nil
        }
    }
}

/// The translated strings of one language, read from `Resources/i18n/<language>.json` (nested objects of strings).
///
/// Templates address them as `{{t.group.key}}`; the browser receives the same table and looks keys up in
/// `i18n.js`, so every string lives in one file per language.
struct Strings: MustacheParent, Sendable {
    let table: [String: JSONValue]

    func child(named name: String) -> Any? {
        switch self.table[name] {
            case .string(let text)?: text
            case .object(let nested)?: Strings(table: nested)
            default: nil
        }
    }

    /// The string at a dotted path such as `auth.loginTitle`, or the path itself when it is missing.
    func text(_ path: String) -> String {
        var table = self.table
        let parts = path.split(separator: ".").map(String.init)
        for (index, part) in parts.enumerated() {
            switch table[part] {
                case .string(let text)? where index == parts.count - 1: return text
                case .object(let nested)?: table = nested
                default: return path
            }
        }
        return path
    }

    /// Every dotted path that leads to a string, apart from `backendErrors` (translations of the backend's
    /// English messages, which English pages show as they are).
    var keys: Set<String> {
        var result: Set<String> = []
        func walk(_ table: [String: JSONValue], prefix: String) {
            for (name, value) in table where !(prefix.isEmpty && name == "backendErrors") {
                switch value {
                    case .string: result.insert(prefix + name)
                    case .object(let nested): walk(nested, prefix: prefix + name + ".")
                    default: break
                }
            }
        }
        walk(self.table, prefix: "")
        return result
    }
}

/// Both languages' strings and their JSON text, loaded once at start-up.
struct Localization: Sendable {
    let strings: [Language: Strings]
    let json: [Language: String]

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    init(directory: String) throws {
        var strings: [Language: Strings] = [:]
        var json: [Language: String] = [:]
        for language in Language.allCases {
            let path = "\(directory)/\(language.rawValue).json"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw LoadError(description: "missing strings file \(path)")
            }
            guard case .object(let table) = try JSONValue.parse(data) else {
                throw LoadError(description: "\(path) must hold a JSON object")
            }
            strings[language] = Strings(table: table)
            json[language] = PageJSON.scriptSafe(String(decoding: data, as: UTF8.self))
        }
        self.strings = strings
        self.json = json
    }

    func callAsFunction(_ language: Language) -> Strings {
        self.strings[language] ?? Strings(table: [:])
    }
}
