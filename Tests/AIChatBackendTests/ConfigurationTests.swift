import AIChatCore
import Testing

@testable import AIChatBackend

@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheOriginal() throws {
        let configuration = try BackendConfiguration(env: EnvironmentValues([:]))
        #expect(configuration.port == 8001)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.appMode == .single)
        #expect(configuration.defaultContextTokenLimit == 4000)
        #expect(configuration.corsEnabled)
        #expect(configuration.corsOrigin == "*")
        #expect(configuration.cookieSecure == .auto)
        #expect(configuration.jwtSecret == nil)
        #expect(configuration.database.absoluteSQLitePath?.hasSuffix("/data/app.db") == true)
    }

    @Test func portFallsBackToBackendPort() throws {
        #expect(try BackendConfiguration(env: EnvironmentValues(["BACKEND_PORT": "3001"])).port == 3001)
        #expect(try BackendConfiguration(env: EnvironmentValues(["BACKEND_PORT": "3001", "PORT": "9000"])).port == 9000)
    }

    @Test(arguments: [
        ("APP_MODE", "team", "one of single, multi"),
        ("PORT", "eighty", "an integer from 0 to 65535"),
        ("COOKIE_SECURE", "maybe", "one of auto, true, false"),
        ("ENABLE_CORS", "sure", "true or false"),
        ("LOG_LEVEL", "loud", "one of trace, debug, info, notice, warning, error, critical"),
        ("NODE_ENV", "staging", "one of production, development, test"),
        ("DEFAULT_CONTEXT_TOKEN_LIMIT", "-5", "an integer from 256 to 10000000"),
        ("SSE_HEARTBEAT_INTERVAL_MS", "10", "an integer from 1000 to 600000"),
        ("REASONING_TAGS_MODE", "fancy", "one of default, custom, off"),
        ("DATABASE_URL", "mysql://x", "file:<path to .db file> or postgres://user:password@host:port/database"),
    ])
    func invalidValuesNameTheVariableAndTheAcceptedValues(variable: String, value: String, accepted: String) {
        do {
            _ = try BackendConfiguration(env: EnvironmentValues([variable: value]))
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == variable)
            #expect(error.accepted == accepted)
            #expect(error.description.contains(variable))
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func nodeEnvIsAnAliasOfTheEnvironmentName() throws {
        #expect(try BackendConfiguration(env: EnvironmentValues(["NODE_ENV": "production"])).environment == .production)
        #expect(try BackendConfiguration(env: EnvironmentValues(["APP_ENV": "test", "NODE_ENV": "production"])).environment == .test)
    }

    @Test func publicPlaceholderSecretsCountAsUnset() throws {
        let env = EnvironmentValues(["JWT_SECRET": "aichat-super-secret-jwt-key-2025-production-change-me"])
        #expect(try BackendConfiguration(env: env).jwtSecret == nil)
        #expect(try BackendConfiguration(env: EnvironmentValues(["JWT_SECRET": "a-real-secret"])).jwtSecret == "a-real-secret")
    }

    @Test func dotEnvFileIsParsed() {
        let parsed = EnvironmentValues.parseDotEnv(
            """
            # comment
            PORT=9001
            export APP_MODE=multi
            CORS_ORIGIN="https://chat.example.com"
            BRAND='My Chat'
            LOG_LEVEL=info # trailing comment
            BROKEN LINE
            """
        )
        #expect(parsed["PORT"] == "9001")
        #expect(parsed["APP_MODE"] == "multi")
        #expect(parsed["CORS_ORIGIN"] == "https://chat.example.com")
        #expect(parsed["BRAND"] == "My Chat")
        #expect(parsed["LOG_LEVEL"] == "info")
        #expect(parsed.count == 5)
    }

    @Test func databaseURLForms() throws {
        #expect(try DatabaseLocation(url: "file:/var/lib/aichat/app.db") == .sqlite(path: "/var/lib/aichat/app.db"))
        #expect(try DatabaseLocation(url: "file:./data/app.db?connection_limit=1") == .sqlite(path: "./data/app.db"))
        #expect(try DatabaseLocation(url: "postgres://u:p@db:5432/aichat") == .postgres(url: "postgres://u:p@db:5432/aichat"))
        #expect(throws: ConfigurationError.self) { try DatabaseLocation(url: "file::memory:") }
    }
}
