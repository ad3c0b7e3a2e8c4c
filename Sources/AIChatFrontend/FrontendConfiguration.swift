import AIChatCore
import Foundation
import Logging

/// Settings of the frontend server, read once at start-up.
///
/// `PORT` (3000), `HOST` (0.0.0.0), `BACKEND_HOST` (localhost), `BACKEND_INTERNAL_PORT` (→ `BACKEND_PORT` → 8001),
/// `APP_ENV`/`NODE_ENV`, `LOG_LEVEL`, `MAX_BODY_BYTES` (32 MiB), `HTTP_IDLE_TIMEOUT_S` (75), `COOKIE_SECURE` (auto|true|false),
/// `RESOURCES_DIR` (`Resources`, relative to the working directory: templates, static files and strings) and
/// `TRUSTED_ORIGINS` (extra comma-separated origins accepted on state-changing requests, for proxies that rewrite
/// `Host`). The backend address is read at run time, so one image works with any compose file.
public struct FrontendConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var backendHost: String
    public var backendPort: Int
    public var environment: RuntimeEnvironment
    public var logLevel: Logger.Level
    public var maxBodyBytes: Int
    /// Seconds an HTTP connection may stay open without a request in progress.
    public var httpIdleTimeoutSeconds: Int
    public var cookieSecure: CookieSecurity
    public var resourcesDirectory: String
    public var trustedOrigins: [String]

    /// When the `token` cookie carries `Secure`: per request scheme and `X-Forwarded-Proto`, or always, or never.
    public typealias CookieSecurity = CookieSecurePolicy

    public init(env: EnvironmentValues) throws {
        self.environment = try RuntimeEnvironment.read(from: env)
        self.logLevel = try Logger.Level.read(from: env, environment: self.environment)
        self.host = env.string("HOST", default: "0.0.0.0")
        self.port = try env.integer("PORT", default: 3000, range: 0...65535)
        self.backendHost = env.string("BACKEND_HOST", default: "localhost")
        if env.string("BACKEND_INTERNAL_PORT") != nil {
            self.backendPort = try env.integer("BACKEND_INTERNAL_PORT", default: 8001, range: 1...65535)
        } else {
            self.backendPort = try env.integer("BACKEND_PORT", default: 8001, range: 1...65535)
        }
        self.maxBodyBytes = try env.integer("MAX_BODY_BYTES", default: 32 << 20, range: 1024...(1 << 30))
        self.httpIdleTimeoutSeconds = try env.integer("HTTP_IDLE_TIMEOUT_S", default: 75, range: 1...3600)
        self.cookieSecure = try env.choice("COOKIE_SECURE", default: CookieSecurity.auto)
        self.resourcesDirectory = env.string("RESOURCES_DIR", default: "Resources")
        self.trustedOrigins = (env.string("TRUSTED_ORIGINS") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }

    public var backendBaseURL: String {
        let host = self.backendHost.contains(":") && !self.backendHost.hasPrefix("[") ? "[\(self.backendHost)]" : self.backendHost
        return "http://\(host):\(self.backendPort)"
    }
}
