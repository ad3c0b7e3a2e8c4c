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
            } else if key == .maxContextTokens {
                values[key] = .number(Double(defaultContextTokenLimit))
            } else if let fallback = key.defaultValue {
                values[key] = fallback
            }
        }
        self.values = values
        self.appMode = appMode
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

    /// Every key for the admin settings page; unset optional strings are `""`.
    public var adminView: [String: JSONValue] {
        var result: [String: JSONValue] = ["app_mode": .string(self.appMode.rawValue)]
        for key in SystemSettingKey.allCases {
            result[key.rawValue] = self.values[key] ?? .string("")
        }
        return result
    }
}
