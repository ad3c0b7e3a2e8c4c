import AIChatCore
import Logging

/// Settings of the frontend server, read once at start-up.
///
/// `PORT` (3000), `HOST` (0.0.0.0), `BACKEND_HOST` (localhost), `BACKEND_INTERNAL_PORT` (→ `BACKEND_PORT` → 8001),
/// `APP_ENV`/`NODE_ENV`, `LOG_LEVEL`, `MAX_BODY_BYTES` (32 MiB). The backend address is read at run time, so one
/// image works with any compose file.
public struct FrontendConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var backendHost: String
    public var backendPort: Int
    public var environment: RuntimeEnvironment
    public var logLevel: Logger.Level
    public var maxBodyBytes: Int

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
    }

    public var backendBaseURL: String {
        let host = self.backendHost.contains(":") && !self.backendHost.hasPrefix("[") ? "[\(self.backendHost)]" : self.backendHost
        return "http://\(host):\(self.backendPort)"
    }
}
