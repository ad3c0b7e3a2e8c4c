import AIChatCore
import Foundation

/// The keys of `system_settings`, their types, ranges, environment fallbacks and defaults.
///
/// Resolution: stored row → environment variable → default. Writing `null` or `""` deletes the row, which
/// restores the fallback.
public enum SystemSettingKey: String, CaseIterable, Sendable {
    case registrationEnabled = "registration_enabled"
    case brandText = "brand_text"
    case maxContextTokens = "max_context_tokens"
    case sseHeartbeatIntervalMs = "sse_heartbeat_interval_ms"
    case providerMaxIdleMs = "provider_max_idle_ms"
    case providerTimeoutMs = "provider_timeout_ms"
    case usageEmit = "usage_emit"
    case usageProviderOnly = "usage_provider_only"
    case reasoningEnabled = "reasoning_enabled"
    case reasoningDefaultExpand = "reasoning_default_expand"
    case reasoningSaveToDb = "reasoning_save_to_db"
    case reasoningTagsMode = "reasoning_tags_mode"
    case reasoningCustomTags = "reasoning_custom_tags"
    case streamDeltaChunkSize = "stream_delta_chunk_size"
    case openaiReasoningEffort = "openai_reasoning_effort"
    case ollamaThink = "ollama_think"
    /// The internal address ranges (CIDRs) personal connections may reach, e.g. a LAN's Ollama; empty: none.
    /// Cloud metadata endpoints stay refused whatever is listed.
    case personalConnectionsAllowedNetworks = "personal_connections_allowed_networks"
    /// Whether a new conversation's title is written by its model after the first answer (otherwise, and until
    /// then, it is taken from the first message).
    case titleByModel = "title_by_model"

    public enum Kind: Sendable {
        /// A flag; `defaultValue` is used when nothing is stored or set.
        case bool(defaultValue: Bool)
        case integer(range: ClosedRange<Int>, defaultValue: Int)
        case text(maxLength: Int, defaultValue: String)
        case choice(values: [String], defaultValue: String)
        /// A JSON array of exactly two non-empty strings (an opening and a closing tag), or empty.
        case tagPair
        /// Address ranges in CIDR notation, separated by commas or spaces; empty for none.
        case networks
    }

    public var kind: Kind {
        switch self {
            case .registrationEnabled: .bool(defaultValue: false)
            case .brandText: .text(maxLength: 40, defaultValue: "AIChat")
            case .maxContextTokens: .integer(range: 256...10_000_000, defaultValue: 4000)
            case .sseHeartbeatIntervalMs: .integer(range: 1000...600_000, defaultValue: 15_000)
            case .providerMaxIdleMs: .integer(range: 0...3_600_000, defaultValue: 60_000)
            case .providerTimeoutMs: .integer(range: 10_000...3_600_000, defaultValue: 300_000)
            case .usageEmit: .bool(defaultValue: true)
            case .usageProviderOnly: .bool(defaultValue: false)
            case .reasoningEnabled: .bool(defaultValue: true)
            case .reasoningDefaultExpand: .bool(defaultValue: false)
            case .reasoningSaveToDb: .bool(defaultValue: true)
            case .reasoningTagsMode: .choice(values: ["default", "custom", "off"], defaultValue: "default")
            case .reasoningCustomTags: .tagPair
            case .streamDeltaChunkSize: .integer(range: 1...100, defaultValue: 1)
            case .openaiReasoningEffort: .choice(values: ["", "low", "medium", "high"], defaultValue: "")
            case .ollamaThink: .bool(defaultValue: false)
            case .personalConnectionsAllowedNetworks: .networks
            case .titleByModel: .bool(defaultValue: false)
        }
    }

    /// The environment variable consulted when no row is stored.
    public var environmentFallback: String? {
        switch self {
            case .registrationEnabled, .brandText: nil
            case .maxContextTokens: "DEFAULT_CONTEXT_TOKEN_LIMIT"
            default: self.rawValue.uppercased()
        }
    }

    /// Rejects an unusable environment fallback at start-up.
    static func validateEnvironment(_ name: String, env: EnvironmentValues) throws -> Bool {
        guard let key = Self.allCases.first(where: { $0.environmentFallback == name }), let raw = env.string(name) else {
            return true
        }
        if (try? key.parse(raw)) == nil {
            throw ConfigurationError(variable: name, value: raw, accepted: key.acceptedDescription)
        }
        return true
    }

    var acceptedDescription: String {
        switch self.kind {
            case .bool: "true or false"
            case .integer(let range, _): "an integer from \(range.lowerBound) to \(range.upperBound)"
            case .text(let maxLength, _): "text of 1 to \(maxLength) characters"
            case .choice(let values, _): "one of " + values.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: ", ")
            case .tagPair: #"a JSON array of two strings, e.g. ["<think>","</think>"]"#
            case .networks: "address ranges in CIDR notation separated by commas, e.g. 192.168.1.0/24, fd00::/8"
        }
    }

    /// Turns a stored or configured string into a typed value; nil for a blank optional value.
    func parse(_ raw: String) throws -> JSONValue? {
        switch self.kind {
            case .bool:
                switch raw.lowercased() {
                    case "true", "1": return .bool(true)
                    case "false", "0": return .bool(false)
                    default: throw APIError.invalidField(self.rawValue, "must be true or false")
                }
            case .integer(let range, _):
                guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                    throw APIError.invalidField(self.rawValue, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
                }
                return .number(Double(value))
            case .text(let maxLength, _):
                guard !raw.isEmpty else { return nil }
                guard raw.count <= maxLength else { throw APIError.invalidField(self.rawValue, "must be at most \(maxLength) characters") }
                return .string(raw)
            case .choice(let values, _):
                guard values.contains(raw) else {
                    throw APIError.invalidField(self.rawValue, "must be one of: " + values.filter { !$0.isEmpty }.joined(separator: ", "))
                }
                return raw.isEmpty ? nil : .string(raw)
            case .tagPair:
                guard !raw.isEmpty else { return nil }
                guard let data = raw.data(using: .utf8), let pair = try? JSONDecoder().decode([String].self, from: data),
                    pair.count == 2, pair.allSatisfy({ !$0.isEmpty && $0.count <= 64 })
                else {
                    throw APIError.invalidField(self.rawValue, #"must be a JSON array of two non-empty strings, e.g. ["<think>","</think>"]"#)
                }
                return .string(raw)
            case .networks:
                guard raw.count <= 4000 else { throw APIError.invalidField(self.rawValue, "must be at most 4000 characters") }
                let networks: [IPNetwork]
                do {
                    networks = try IPNetwork.list(raw)
                } catch {
                    throw APIError.invalidField(self.rawValue, "has an entry \(error.description)")
                }
                return networks.isEmpty ? nil : .string(networks.map(\.description).joined(separator: ", "))
        }
    }

    /// The value a request body carries for this key, validated, as the string to store; nil clears the key.
    func storedValue(from value: JSONValue) throws -> String? {
        switch (self.kind, value) {
            case (_, .null): return nil
            case (.bool, .bool(let flag)): return flag ? "true" : "false"
            case (.integer(let range, _), .number(let number)):
                guard let integer = Int(exactly: number), range.contains(integer) else {
                    throw APIError.invalidField(self.rawValue, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
                }
                return String(integer)
            case (.text(let maxLength, _), .string(let text)):
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard trimmed.count <= maxLength else { throw APIError.invalidField(self.rawValue, "must be at most \(maxLength) characters") }
                return trimmed.isEmpty ? nil : trimmed
            case (.choice, .string(let text)), (.tagPair, .string(let text)):
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                return try self.parse(trimmed) == nil ? nil : trimmed
            case (.networks, .string(let text)):
                guard case .string(let normalized)? = try self.parse(text) else { return nil }
                return normalized
            case (.bool, _): throw APIError.invalidField(self.rawValue, "must be a boolean, not \(value.typeName)")
            case (.integer, _): throw APIError.invalidField(self.rawValue, "must be a number, not \(value.typeName)")
            default: throw APIError.invalidField(self.rawValue, "must be a string, not \(value.typeName)")
        }
    }

    var defaultValue: JSONValue? {
        switch self.kind {
            case .bool(let value): .bool(value)
            case .integer(_, let value): .number(Double(value))
            case .text(_, let value): .string(value)
            case .choice(_, let value): value.isEmpty ? nil : .string(value)
            case .tagPair, .networks: nil
        }
    }
}
