import AIChatCore
import Foundation

/// Where the database lives, parsed from `DATABASE_URL`.
///
/// Accepted forms: `file:./data/app.db` (relative to the working directory), `file:/abs/path.db`,
/// `sqlite:…`, a bare path ending in `.db`/`.sqlite`, and `postgres://user:pass@host:port/db`
/// (`postgresql://` too).
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    public init(url: String) throws {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self = .postgres(url: trimmed)
            return
        }
        var path = trimmed
        for prefix in ["sqlite://", "sqlite:", "file://", "file:"] where path.hasPrefix(prefix) {
            path = String(path.dropFirst(prefix.count))
            break
        }
        if let query = path.firstIndex(of: "?") {
            path = String(path[..<query])
        }
        guard !path.isEmpty, !path.contains("://"), path != ":memory:" else {
            throw ConfigurationError(
                variable: "DATABASE_URL",
                value: url,
                accepted: "file:<path to .db file> or postgres://user:password@host:port/database"
            )
        }
        self = .sqlite(path: path)
    }

    /// The absolute path of the SQLite file, resolved against the working directory.
    public var absoluteSQLitePath: String? {
        guard case .sqlite(let path) = self else { return nil }
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: cwd).appendingPathComponent(path).standardizedFileURL.path
    }

    /// The SQLite file's folder, or `./data` for PostgreSQL.
    public var dataDirectory: String {
        if let path = self.absoluteSQLitePath {
            return URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("data").path
    }
}
