import AIChatCore
import Foundation

/// A validated connection body (create or update). Absent fields are nil; for clearable fields `.some(nil)`
/// means "clear".
struct ConnectionInput: Sendable {
    var provider: ProviderKind?
    var baseUrl: String?
    var enable: Bool?
    var authType: AuthType?
    /// nil: keep; "": remove the key; otherwise the new plaintext key.
    var apiKey: String?
    var headers: [String: String]??
    var azureApiVersion: String??
    var prefixId: String??
    var tags: [String]?
    var modelIds: [String]?
    var connectionType: ConnectionType?

    static let maskPrefix = "••••"

    /// Reads and validates a body; `requireAll` for creation (provider and baseUrl must be present).
    init(_ body: JSONObject, requireAll: Bool) throws {
        self.provider = try body.optionalChoice("provider", as: ProviderKind.self)
        if let raw = try body.optionalString("baseUrl", maxLength: 2048, trim: true) {
            self.baseUrl = try Self.normalizedBaseURL(raw)
        }
        if requireAll {
            guard self.provider != nil else { throw APIError.invalidField("provider", "is required") }
            guard self.baseUrl != nil else { throw APIError.invalidField("baseUrl", "is required") }
        }
        self.enable = try body.optionalBool("enable")
        self.authType = try body.optionalChoice("authType", as: AuthType.self)
        self.apiKey = try body.optionalString("apiKey", maxLength: 8192, trim: true)
        if let key = self.apiKey, key.contains(where: { $0.isNewline }) {
            throw APIError.invalidField("apiKey", "must be a single line")
        }
        switch body.raw("headers") {
            case .none: self.headers = nil
            case .null?: self.headers = .some(nil)
            case .object(let fields)?: self.headers = .some(try Self.validatedHeaders(fields))
            case let other?: throw APIError.invalidField("headers", "must be an object of header names to strings, not \(other.typeName)")
        }
        self.azureApiVersion = try Self.clearable(body, "azureApiVersion", maxLength: 64, allowed: nil)
        self.prefixId = try Self.clearable(
            body, "prefixId", maxLength: 64, allowed: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_")))
        if let raw = body.raw("tags"), raw != .null {
            self.tags = try Self.validatedTags(raw)
        }
        if let raw = body.raw("modelIds"), raw != .null {
            guard case .array(let items) = raw, items.count <= 1000 else {
                throw APIError.invalidField("modelIds", "must be an array of at most 1000 model ids")
            }
            var ids: [String] = []
            for item in items {
                guard case .string(let id) = item else { throw APIError.invalidField("modelIds", "must contain only strings") }
                let trimmed = id.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty, trimmed.count <= 256 else {
                    throw APIError.invalidField("modelIds", "must contain ids of 1 to 256 characters")
                }
                if !ids.contains(trimmed) { ids.append(trimmed) }
            }
            self.modelIds = ids
        }
        self.connectionType = try body.optionalChoice("connectionType", as: ConnectionType.self)
    }

    /// An absolute http(s) URL without credentials, query or fragment, with trailing slashes removed.
    static func normalizedBaseURL(_ raw: String) throws -> String {
        var text = raw
        while text.hasSuffix("/") { text.removeLast() }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw APIError.invalidField("baseUrl", "must be an absolute http:// or https:// URL")
        }
        guard components.user == nil, components.password == nil else {
            throw APIError.invalidField("baseUrl", "must not contain a user name or password; use the API key field")
        }
        guard components.query == nil, components.fragment == nil else {
            throw APIError.invalidField("baseUrl", "must not contain a query or fragment")
        }
        return text
    }

    static func clearable(_ body: JSONObject, _ key: String, maxLength: Int, allowed: CharacterSet?) throws -> String?? {
        switch try body.presentString(key, maxLength: maxLength, trim: true) {
            case .absent: return nil
            case .null: return .some(nil)
            case .value(let text):
                if text.isEmpty { return .some(nil) }
                if let allowed, text.unicodeScalars.contains(where: { !allowed.contains($0) || !$0.isASCII }) {
                    throw APIError.invalidField(key, "may contain only letters, digits, - and _")
                }
                return .some(text)
        }
    }

    static func validatedHeaders(_ fields: [String: JSONValue]) throws -> [String: String] {
        guard fields.count <= 32 else { throw APIError.invalidField("headers", "may hold at most 32 headers") }
        let tokenCharacters = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var headers: [String: String] = [:]
        for (name, value) in fields {
            guard !name.isEmpty, name.count <= 128, name.unicodeScalars.allSatisfy({ tokenCharacters.contains($0) }) else {
                throw APIError.invalidField("headers", "has an invalid header name \"\(name.prefix(40))\"")
            }
            guard case .string(let text) = value else {
                throw APIError.invalidField("headers", "values must be strings")
            }
            guard text.count <= 8192, !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw APIError.invalidField("headers", "value of \(name) must be a single line of at most 8192 characters")
            }
            headers[name] = text
        }
        return headers
    }

    static func validatedTags(_ raw: JSONValue) throws -> [String] {
        guard case .array(let items) = raw, items.count <= 32 else {
            throw APIError.invalidField("tags", "must be an array of at most 32 tags")
        }
        var tags: [String] = []
        for item in items {
            let name: String
            switch item {
                case .string(let text): name = text
                case .object(let fields):
                    guard case .string(let text)? = fields["name"] else { throw APIError.invalidField("tags", "items must have a string name") }
                    name = text
                default: throw APIError.invalidField("tags", "items must be {\"name\": string}")
            }
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.count <= 64 else { throw APIError.invalidField("tags", "names must be 1 to 64 characters") }
            if !tags.contains(trimmed) { tags.append(trimmed) }
        }
        return tags
    }

    /// Headers to store: values sent back masked keep what was stored under the same name.
    static func mergeHeaders(_ incoming: [String: String], stored: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in incoming {
            if value.hasPrefix(Self.maskPrefix), let old = stored[name] {
                result[name] = old
            } else {
                result[name] = value
            }
        }
        return result
    }
}
