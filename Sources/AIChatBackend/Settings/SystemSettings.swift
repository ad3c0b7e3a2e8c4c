import AIChatCore

/// Effective system settings: each key resolved from its stored row, its environment variable, or its default.
public struct SystemSettings: Sendable {
    public let values: [SystemSettingKey: JSONValue]
    public let appMode: AppMode

    public init(stored: [String: String], env: EnvironmentValues, appMode: AppMode, defaultContextTokenLimit: Int) {
        var values: [SystemSettingKey: JSONValue] = [:]
        for key in SystemSettingKey.allCases {
            if let raw = stored[key.rawValue], let parsed = try? key.parse(raw) {
                values[key] = parsed
            } else if let name = key.environmentFallback, let raw = env.string(name), let parsed = try? key.parse(raw) {
                values[key] = parsed
            } else if key == .personalConnectionsAllowedNetworks, Self.legacyAllowPrivate(stored: stored, env: env) {
                values[key] = .string(Self.legacyPrivateRanges)
            } else if key == .maxContextTokens {
                values[key] = .number(Double(defaultContextTokenLimit))
            } else if let fallback = key.defaultValue {
                values[key] = fallback
            }
        }
        self.values = values
        self.appMode = appMode
    }

    /// The ranges an earlier version's `personal_connections_allow_private` (stored, or its environment variable)
    /// opened, so an upgrade keeps a LAN provider reachable until an administrator narrows the list.
    static let legacyPrivateRanges = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, 100.64.0.0/10, ::1/128, fc00::/7"

    static func legacyAllowPrivate(stored: [String: String], env: EnvironmentValues) -> Bool {
        let raw = stored["personal_connections_allow_private"] ?? env.string("PERSONAL_CONNECTIONS_ALLOW_PRIVATE")
        return ["true", "1"].contains(raw?.lowercased())
    }

    public func bool(_ key: SystemSettingKey) -> Bool {
        if case .bool(let value) = self.values[key] { return value }
        return false
    }

    public func int(_ key: SystemSettingKey) -> Int {
        if case .number(let value) = self.values[key] { return Int(exactly: value) ?? 0 }
        return 0
    }

    public func string(_ key: SystemSettingKey) -> String {
        if case .string(let value) = self.values[key] { return value }
        return ""
    }

    /// A ``SystemSettingKey/Kind/networks`` value, parsed.
    public func networks(_ key: SystemSettingKey) -> [IPNetwork] {
        (try? IPNetwork.list(self.string(key))) ?? []
    }

    /// Every key for the admin settings page; unset optional strings are `""`.
    public var adminView: [String: JSONValue] {
        var result: [String: JSONValue] = ["app_mode": .string(self.appMode.rawValue)]
        for key in SystemSettingKey.allCases {
            result[key.rawValue] = self.values[key] ?? .string("")
        }
        return result
    }
}
