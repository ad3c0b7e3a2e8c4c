import AIChatCore
import Logging

/// Registration policy (`APP_MODE`).
public enum AppMode: String, CaseIterable, Sendable {
    /// Only the first user may register; that user becomes the admin.
    case single
    /// The first user registers freely and becomes the admin; later registrations follow `registration_enabled`.
    case multi
}

/// Every setting of the backend, read once from the environment at start-up.
///
/// Variables (defaults in brackets): `PORT` (→ `BACKEND_PORT` → 8001), `HOST` (0.0.0.0), `APP_ENV`/`NODE_ENV`
/// (development), `DATABASE_URL` (file:./data/app.db), `JWT_SECRET` and `ENCRYPTION_KEY` (generated and kept in
/// the data folder when unset), `APP_MODE` (single), `DEFAULT_CONTEXT_TOKEN_LIMIT` (4000), `ENABLE_CORS` (true),
/// `CORS_ORIGIN` (*), `LOG_LEVEL`, `COOKIE_SECURE` (auto), `MAX_BODY_BYTES` (32 MiB), `MAX_ANSWER_BYTES` (8 MiB),
/// `HTTP_IDLE_TIMEOUT_S` (75), `LOGIN_MAX_FAILURES` (10), `LOGIN_SLOWDOWN_AFTER` (50),
/// `LOGIN_WINDOW_SECONDS` (900), `BCRYPT_COST` (12), `BCRYPT_QUEUE_LIMIT` (64),
/// `PROVIDER_MAX_CONNECTIONS` (2048), `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` (none), and the
/// fallbacks of the system settings (see ``SystemSettingKey``).
public struct BackendConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var environment: RuntimeEnvironment
    public var logLevel: Logger.Level
    public var database: DatabaseLocation
    /// `JWT_SECRET` as given; nil means "generate and persist one".
    public var jwtSecret: String?
    /// `ENCRYPTION_KEY` as given; nil means "generate and persist one".
    public var encryptionKey: String?
    public var appMode: AppMode
    public var defaultContextTokenLimit: Int
    public var corsEnabled: Bool
    public var corsOrigin: String
    public var cookieSecure: CookieSecurePolicy
    public var maxBodyBytes: Int
    /// Largest answer (text and reasoning, UTF-8 bytes) kept from a provider; a longer one is cut off there.
    public var maxAnswerBytes: Int
    /// Seconds an HTTP connection may stay open without a request in progress.
    public var httpIdleTimeoutSeconds: Int
    /// Failures per (username, address) pair before that pair is refused.
    public var loginMaxFailures: Int
    /// Failures per username (or per address) before each further attempt for it is delayed.
    public var loginSlowdownAfter: Int
    public var loginWindowSeconds: Int
    public var bcryptCost: Int
    /// bcrypt hashes running or waiting at once; more get a 429.
    public var bcryptQueueLimit: Int
    /// Seconds a fetched model list stays fresh (`MODELS_TTL_S`).
    public var modelsTTLSeconds: Int
    /// Bearer token for `system_oauth` connections (`SYSTEM_OAUTH_TOKEN`).
    public var systemOAuthToken: String?
    /// Bearer token for Azure connections using Microsoft Entra ID (`AZURE_ACCESS_TOKEN`).
    public var azureAccessToken: String?
    /// Connections to one provider host at once (`PROVIDER_MAX_CONNECTIONS`): an answer streams over one of its own,
    /// so this bounds the answers streaming from one provider; more wait for a free connection.
    public var providerMaxConnections: Int
    /// The administrator created at start when no user exists (`ADMIN_USERNAME` / `ADMIN_PASSWORD`, also read
    /// under the names `DEFAULT_ADMIN_USERNAME` / `DEFAULT_ADMIN_PASSWORD`).
    public var initialAdmin: (username: String, password: String)?
    /// The outbound proxy for provider requests (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    var proxy: ProxySettings
    /// Raw environment, for the per-key fallbacks of system settings.
    public var env: EnvironmentValues

    /// Secrets that earlier versions shipped as public defaults; treated as unset.
    public static let placeholderSecrets: Set<String> = [
        "fallback-secret-key",
        "aichat-super-secret-jwt-key-2025-production-change-me",
        "dev-jwt-secret-key",
        "your-super-secret-jwt-key-change-this-in-production",
        "change-me",
        "changeme",
        "secret",
    ]

    public init(env: EnvironmentValues) throws {
        self.env = env
        self.environment = try RuntimeEnvironment.read(from: env)
        self.logLevel = try Logger.Level.read(from: env, environment: self.environment)
        self.host = env.string("HOST", default: "0.0.0.0")
        if env.string("PORT") != nil {
            self.port = try env.integer("PORT", default: 8001, range: 0...65535)
        } else {
            self.port = try env.integer("BACKEND_PORT", default: 8001, range: 0...65535)
        }
        self.database = try DatabaseLocation(url: env.string("DATABASE_URL", default: "file:./data/app.db"))
        let secret = env.string("JWT_SECRET")
        self.jwtSecret = secret.flatMap { Self.placeholderSecrets.contains($0) ? nil : $0 }
        self.encryptionKey = env.string("ENCRYPTION_KEY")
        self.appMode = try env.choice("APP_MODE", default: AppMode.single)
        self.defaultContextTokenLimit = try env.integer("DEFAULT_CONTEXT_TOKEN_LIMIT", default: 4000, range: 256...10_000_000)
        self.corsEnabled = try env.bool("ENABLE_CORS", default: true)
        self.corsOrigin = env.string("CORS_ORIGIN", default: "*")
        self.cookieSecure = try env.choice("COOKIE_SECURE", default: CookieSecurePolicy.auto)
        self.maxBodyBytes = try env.integer("MAX_BODY_BYTES", default: 32 << 20, range: 1024...(1 << 30))
        self.maxAnswerBytes = try env.integer("MAX_ANSWER_BYTES", default: 8 << 20, range: 1024...(1 << 30))
        self.httpIdleTimeoutSeconds = try env.integer("HTTP_IDLE_TIMEOUT_S", default: 75, range: 1...3600)
        self.loginMaxFailures = try env.integer("LOGIN_MAX_FAILURES", default: 10, range: 1...10_000)
        self.loginSlowdownAfter = try env.integer("LOGIN_SLOWDOWN_AFTER", default: 50, range: 1...1_000_000)
        self.loginWindowSeconds = try env.integer("LOGIN_WINDOW_SECONDS", default: 900, range: 1...86_400)
        self.bcryptCost = try env.integer("BCRYPT_COST", default: 12, range: 4...16)
        self.bcryptQueueLimit = try env.integer("BCRYPT_QUEUE_LIMIT", default: 64, range: 1...100_000)
        self.modelsTTLSeconds = try env.integer("MODELS_TTL_S", default: 120, range: 0...604_800)
        self.systemOAuthToken = env.string("SYSTEM_OAUTH_TOKEN")
        self.azureAccessToken = env.string("AZURE_ACCESS_TOKEN")
        self.providerMaxConnections = try env.integer("PROVIDER_MAX_CONNECTIONS", default: 2048, range: 1...65_536)
        self.proxy = try ProxySettings(env: env)
        self.initialAdmin = try Self.initialAdmin(env)
        for name in SystemSettingKey.allCases.compactMap(\.environmentFallback) {
            _ = try SystemSettingKey.validateEnvironment(name, env: env)
        }
    }

    static func initialAdmin(_ env: EnvironmentValues) throws -> (username: String, password: String)? {
        let username = env.string("ADMIN_USERNAME") ?? env.string("DEFAULT_ADMIN_USERNAME")
        let password = env.string("ADMIN_PASSWORD") ?? env.string("DEFAULT_ADMIN_PASSWORD")
        switch (username, password) {
            case (nil, nil): return nil
            case (let username?, let password?):
                guard AuthRules.validUsername(username) else {
                    throw ConfigurationError(variable: "ADMIN_USERNAME", value: username, accepted: "3-20 letters, digits or underscores")
                }
                // The value is never echoed: it is a password.
                guard password.utf8.count <= AuthRules.maxPasswordBytes, AuthRules.validPassword(password) else {
                    throw ConfigurationError(
                        variable: "ADMIN_PASSWORD", value: "(hidden)", accepted: "8 to 72 bytes with at least one letter and one digit")
                }
                return (username, password)
            case (nil, _?):
                throw ConfigurationError(variable: "ADMIN_USERNAME", value: "", accepted: "a username, since ADMIN_PASSWORD is set")
            case (_?, nil):
                throw ConfigurationError(variable: "ADMIN_PASSWORD", value: "", accepted: "a password, since ADMIN_USERNAME is set")
        }
    }

    /// The folder that holds the SQLite file and the generated secrets.
    public var dataDirectory: String {
        self.database.dataDirectory
    }
}
