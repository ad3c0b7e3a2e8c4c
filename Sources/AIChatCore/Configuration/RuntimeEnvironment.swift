import Logging

/// Deployment environment name, from `APP_ENV` or its alias `NODE_ENV` (the original's variable).
public enum RuntimeEnvironment: String, CaseIterable, Sendable {
    case production
    case development
    case test

    public static func read(from env: EnvironmentValues) throws -> RuntimeEnvironment {
        let name = env.string("APP_ENV") != nil ? "APP_ENV" : "NODE_ENV"
        guard let raw = env.string(name) else { return .development }
        switch raw.lowercased() {
            case "production", "prod": return .production
            case "development", "dev": return .development
            case "test", "testing": return .test
            default: throw ConfigurationError(variable: name, value: raw, accepted: "one of production, development, test")
        }
    }
}

extension Logger.Level {
    /// `LOG_LEVEL`, defaulting to `info` in production and `debug` elsewhere. `warn` is accepted as an alias.
    public static func read(from env: EnvironmentValues, environment: RuntimeEnvironment) throws -> Logger.Level {
        guard let raw = env.string("LOG_LEVEL") else { return environment == .production ? .info : .debug }
        let normalized = raw.lowercased() == "warn" ? "warning" : raw.lowercased()
        guard let level = Logger.Level(rawValue: normalized) else {
            throw ConfigurationError(
                variable: "LOG_LEVEL",
                value: raw,
                accepted: "one of trace, debug, info, notice, warning, error, critical"
            )
        }
        return level
    }
}
