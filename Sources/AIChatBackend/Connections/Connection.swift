import AIChatCore
import Foundation

/// Whether the connection is a cloud service or something on the user's own network (display only).
public enum ConnectionType: String, CaseIterable, Sendable, Codable {
    case external
    case local
}

/// A provider endpoint as stored in `connections`. `apiKey` is ciphertext; it never leaves the server.
public struct Connection: Sendable, Equatable {
    public var id: Int
    /// nil for a system connection (managed by admins, visible to everyone).
    public var ownerUserId: Int?
    /// The stored provider name; ``kind`` is nil for a name this build does not know.
    public var provider: String
    public var baseUrl: String
    public var enable: Bool
    public var authType: String
    public var apiKey: String
    public var headers: [String: String]
    public var azureApiVersion: String?
    public var prefixId: String?
    public var tags: [String]
    public var modelIds: [String]
    public var connectionType: ConnectionType
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public var kind: ProviderKind? { ProviderKind(rawValue: self.provider) }
    public var auth: AuthType { AuthType(rawValue: self.authType) ?? .none }
    public var isSystem: Bool { self.ownerUserId == nil }

    /// The display id of one of this connection's models: `<prefixId>.<rawId>`, or the raw id without a prefix.
    public func displayId(of rawId: String) -> String {
        if let prefix = self.prefixId, !prefix.isEmpty { return prefix + "." + rawId }
        return rawId
    }

    /// The host of the base URL, recorded with usage rows.
    public var host: String? { URLComponents(string: self.baseUrl)?.host }

    static func decodeTags(_ json: String) -> [String] {
        guard let data = json.data(using: .utf8), let value = try? JSONValue.parse(data), case .array(let items) = value else { return [] }
        return items.compactMap { item in
            if case .object(let fields) = item, case .string(let name)? = fields["name"] { return name }
            if case .string(let name) = item { return name }
            return nil
        }
    }

    static func encodeTags(_ tags: [String]) -> String {
        let items = tags.map { JSONValue.object(["name": .string($0)]) }
        return String(decoding: (try? JSONEncoder().encode(JSONValue.array(items))) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeStrings(_ json: String) -> [String] {
        guard let data = json.data(using: .utf8), let values = try? JSONDecoder().decode([String].self, from: data) else { return [] }
        return values
    }

    static func encodeStrings(_ values: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeHeaders(_ json: String) -> [String: String] {
        guard !json.isEmpty, let data = json.data(using: .utf8), let value = try? JSONValue.parse(data), case .object(let fields) = value else {
            return [:]
        }
        var headers: [String: String] = [:]
        for (name, value) in fields {
            switch value {
                case .string(let text): headers[name] = text
                case .number, .bool: headers[name] = String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
                default: continue
            }
        }
        return headers
    }

    static func encodeHeaders(_ headers: [String: String]) -> String {
        guard !headers.isEmpty else { return "" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(headers)) ?? Data(), as: UTF8.self)
    }
}

/// A connection as the API shows it: no key, no header values; whether a key is set and its last characters.
public struct ConnectionDTO: Encodable, Sendable {
    public let id: Int
    public let ownerUserId: Int?
    public let provider: String
    public let baseUrl: String
    public let enable: Bool
    public let authType: String
    public let hasApiKey: Bool
    public let apiKeyHint: String?
    /// Header names with their values masked; send a masked value back unchanged to keep the stored value.
    public let headers: [String: String]
    public let azureApiVersion: String?
    public let prefixId: String?
    public let tags: [TagDTO]
    public let tagsJson: String
    public let modelIds: [String]
    public let modelIdsJson: String
    public let connectionType: ConnectionType
    public let createdAt: Timestamp
    public let updatedAt: Timestamp

    public struct TagDTO: Codable, Sendable, Equatable {
        public let name: String
    }

    init(_ connection: Connection, cipher: SecretCipher) {
        self.id = connection.id
        self.ownerUserId = connection.ownerUserId
        self.provider = connection.provider
        self.baseUrl = connection.baseUrl
        self.enable = connection.enable
        self.authType = connection.authType
        let key = (try? cipher.decrypt(connection.apiKey)) ?? ""
        self.hasApiKey = !connection.apiKey.isEmpty
        self.apiKeyHint = connection.apiKey.isEmpty ? nil : Self.mask(key)
        self.headers = connection.headers.mapValues(Self.mask)
        self.azureApiVersion = connection.azureApiVersion
        self.prefixId = connection.prefixId
        self.tags = connection.tags.map(TagDTO.init(name:))
        self.tagsJson = Connection.encodeTags(connection.tags)
        self.modelIds = connection.modelIds
        self.modelIdsJson = Connection.encodeStrings(connection.modelIds)
        self.connectionType = connection.connectionType
        self.createdAt = connection.createdAt
        self.updatedAt = connection.updatedAt
    }

    /// `••••` plus the last four characters of values long enough to keep the rest secret.
    static func mask(_ secret: String) -> String {
        guard secret.count >= 12 else { return "••••" }
        return "••••" + secret.suffix(4)
    }
}
