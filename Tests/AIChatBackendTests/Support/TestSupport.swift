import AIChatBackend
import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A temporary folder removed when the test ends.
struct TemporaryDirectory {
    let path: String

    init() throws {
        self.path = NSTemporaryDirectory() + "aichat-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

enum TestEnv {
    static let secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"

    /// Environment for a backend on a database file in `directory`, with fast bcrypt.
    static func values(directory: String, _ overrides: [String: String] = [:]) -> EnvironmentValues {
        var values = [
            "APP_ENV": "test",
            "HOST": "127.0.0.1",
            "DATABASE_URL": "file:\(directory)/app.db",
            "JWT_SECRET": secret,
            "ENCRYPTION_KEY": "test-encryption-key",
            "BCRYPT_COST": "4",
            "LOG_LEVEL": "warning",
        ]
        for (key, value) in overrides { values[key] = value }
        return EnvironmentValues(values.filter { !$0.value.isEmpty })
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }
}

/// Builds a backend on a fresh database file, runs `body` against it listening on a free port (the server as the
/// backend runs it, idle timeout and shutdown included), and cleans up.
func withBackend<T: Sendable>(
    _ overrides: [String: String] = [:],
    directory existing: TemporaryDirectory? = nil,
    _ body: @Sendable (Backend, any TestClientProtocol) async throws -> T
) async throws -> T {
    let directory = try existing ?? TemporaryDirectory()
    let configuration = try BackendConfiguration(env: TestEnv.values(directory: directory.path, overrides))
    let backend = try await Backend.make(configuration: configuration, logger: TestEnv.logger)
    let app = backend.application(port: 0)
    do {
        let result = try await app.test(.live) { client in try await body(backend, client) }
        await backend.shutdown()
        if existing == nil { directory.remove() }
        return result
    } catch {
        await backend.shutdown()
        if existing == nil { directory.remove() }
        throw error
    }
}

/// A parsed test response.
struct Reply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let json: JSONValue

    var error: String? { self.json["error"]?.string }
    var data: JSONValue? { self.json["data"] }
}

extension TestClientProtocol {
    /// Sends `body` (a JSON-encodable dictionary, raw text, or nothing) and parses the JSON answer.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        json: [String: Any]? = nil,
        raw: String? = nil,
        contentType: String = "application/json",
        token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = contentType
        } else if let raw {
            body = ByteBuffer(string: raw)
            headers[.contentType] = contentType
        }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await self.execute(uri: uri, method: method, headers: headers, body: body) { response in
            let data = Data(buffer: response.body)
            let json = data.isEmpty ? JSONValue.null : ((try? JSONValue.parse(data)) ?? .string(String(decoding: data, as: UTF8.self)))
            return Reply(status: response.status, headers: response.headers, json: json)
        }
    }

    /// Registers a user and returns its token.
    func register(_ username: String, _ password: String = "password1") async throws -> String {
        let reply = try await self.call(.post, "/api/auth/register", json: ["username": username, "password": password])
        #expect(reply.status == .ok, "register \(username): \(reply.json)")
        return reply.data?["token"]?.string ?? ""
    }

    func login(_ username: String, _ password: String = "password1", headers: HTTPFields = [:]) async throws -> Reply {
        try await self.call(.post, "/api/auth/login", json: ["username": username, "password": password], headers: headers)
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int? {
        if case .number(let value) = self { return Int(value) }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

/// Runs `body` with a migrated SQLite database in a temporary folder, closed and removed afterwards.
func withMigratedDatabase(_ body: (SQLiteAppDatabase) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let database = try await SQLiteAppDatabase.open(path: directory.path + "/app.db", logger: TestEnv.logger)
    _ = try await Migrator().migrate(database, logger: TestEnv.logger)
    do {
        try await body(database)
    } catch {
        await database.close()
        throw error
    }
    await database.close()
}
