import Foundation

/// The process environment merged with an optional `.env` file.
///
/// Variables set in the real environment always win over the file, so a compose file or a shell export can
/// override what a checked-in `.env` says. Values are read once at start-up into typed settings; every typed
/// getter throws a ``ConfigurationError`` that names the variable and the accepted values.
public struct EnvironmentValues: Sendable {
    public private(set) var values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    /// Reads the process environment and, when present, `.env` in the working directory.
    public static func load(dotEnvPath: String = ".env") -> EnvironmentValues {
        var merged: [String: String] = [:]
        if let text = try? String(contentsOfFile: dotEnvPath, encoding: .utf8) {
            merged = parseDotEnv(text)
        }
        for (key, value) in ProcessInfo.processInfo.environment {
            merged[key] = value
        }
        return EnvironmentValues(merged)
    }

    /// Parses `KEY=value` lines; `#` starts a comment line, an optional `export ` prefix is allowed and
    /// matching single or double quotes around the value are removed.
    public static func parseDotEnv(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            guard !key.isEmpty else { continue }
            result[key] = value
        }
        return result
    }

    public subscript(_ name: String) -> String? {
        get { self.values[name] }
        set { self.values[name] = newValue }
    }

    /// The trimmed value, or nil when the variable is unset or blank.
    public func string(_ name: String) -> String? {
        guard let raw = self.values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else {
            return nil
        }
        return raw
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        self.string(name) ?? defaultValue
    }

    public func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = self.string(name) else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigurationError(variable: name, value: raw, accepted: "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let raw = self.string(name) else { return defaultValue }
        switch raw.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw ConfigurationError(variable: name, value: raw, accepted: "true or false")
        }
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ name: String, default defaultValue: T) throws -> T
    where T.RawValue == String {
        guard let raw = self.string(name) else { return defaultValue }
        if let value = T(rawValue: raw.lowercased()) ?? T(rawValue: raw) { return value }
        let accepted = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw ConfigurationError(variable: name, value: raw, accepted: "one of \(accepted)")
    }
}

/// A configuration value that cannot be used; its description is the one line printed before the process exits.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String
    public let accepted: String

    public init(variable: String, value: String, accepted: String) {
        self.variable = variable
        self.value = value
        self.accepted = accepted
    }

    public var description: String {
        "Invalid configuration: \(self.variable)=\"\(self.value)\" is not accepted; expected \(self.accepted)."
    }
}
