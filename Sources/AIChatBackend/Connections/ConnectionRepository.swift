import AIChatCore
import SQLKit

/// Which connections a lookup may see. Every read and write by id goes through one of these.
public enum ConnectionScope: Sendable, Equatable {
    /// System connections only (admin management).
    case system
    /// The personal connections of one user.
    case owner(Int)
    /// What a user may use: system connections and the user's own.
    case visible(to: Int)

    var filter: SQLQueryString {
        switch self {
            case .system: #""ownerUserId" IS NULL"#
            case .owner(let userId): "\"ownerUserId\" = \(bind: userId)"
            case .visible(let userId): "(\"ownerUserId\" IS NULL OR \"ownerUserId\" = \(bind: userId))"
        }
    }
}

/// The values of a new connection, already validated and with the key encrypted.
public struct NewConnection: Sendable {
    var ownerUserId: Int?
    var provider: String
    var baseUrl: String
    var enable: Bool
    var authType: String
    var apiKey: String
    var headers: [String: String]
    var azureApiVersion: String?
    var prefixId: String?
    var tags: [String]
    var modelIds: [String]
    var connectionType: ConnectionType
}

public protocol ConnectionRepository: Sendable {
    func list(_ scope: ConnectionScope, enabledOnly: Bool) async throws -> [Connection]
    func find(id: Int, in scope: ConnectionScope) async throws -> Connection?
    func create(_ connection: NewConnection) async throws -> Connection
    /// Replaces the stored row of `connection.id` within `scope`; false when no such connection is visible there.
    func save(_ connection: Connection, in scope: ConnectionScope) async throws -> Bool
    func delete(id: Int, in scope: ConnectionScope) async throws -> Bool
}

public struct SQLConnectionRepository: ConnectionRepository {
    let database: any AppDatabase

    public init(database: any AppDatabase) {
        self.database = database
    }

    static let columns = """
        "id", "ownerUserId", "provider", "baseUrl", "enable", "authType", "apiKey", "headersJson", "azureApiVersion",
        "prefixId", "tagsJson", "modelIdsJson", "connectionType", "createdAt", "updatedAt"
        """

    static func decode(_ row: any SQLRow) throws -> Connection {
        try Self.decode(row, prefix: "")
    }

    /// The columns a send needs: all but the tags (which can be long, and are read back as empty). The model list
    /// stays: it decides which models a user may send to.
    static let sendingColumns = Self.columns.split(separator: ",").filter { !$0.contains("tagsJson") }
        .joined(separator: ",")

    /// The connection columns (`columns`, all by default) of table alias `alias`, each renamed with `prefix`.
    static func prefixedColumns(_ alias: String, prefix: String, columns: String = Self.columns) -> String {
        columns.split(separator: ",").map { column in
            let name = column.filter { $0 != "\"" && !$0.isWhitespace }
            return "\(alias).\"\(name)\" AS \"\(prefix)\(name)\""
        }.joined(separator: ", ")
    }

    /// A connection from `row`; `prefix` is prepended to every column name (for rows that join other tables).
    static func decode(_ row: any SQLRow, prefix: String) throws -> Connection {
        Connection(
            id: try row.int(prefix + "id"),
            ownerUserId: try row.optionalInt(prefix + "ownerUserId"),
            provider: try row.string(prefix + "provider"),
            baseUrl: try row.string(prefix + "baseUrl"),
            enable: try row.bool(prefix + "enable"),
            authType: try row.string(prefix + "authType"),
            apiKey: try row.optionalString(prefix + "apiKey") ?? "",
            headers: Connection.decodeHeaders(try row.optionalString(prefix + "headersJson") ?? ""),
            azureApiVersion: try row.optionalString(prefix + "azureApiVersion"),
            prefixId: try row.optionalString(prefix + "prefixId"),
            tags: row.contains(column: prefix + "tagsJson") ? Connection.decodeTags(try row.optionalString(prefix + "tagsJson") ?? "[]") : [],
            modelIds: row.contains(column: prefix + "modelIdsJson")
                ? Connection.decodeStrings(try row.optionalString(prefix + "modelIdsJson") ?? "[]") : [],
            connectionType: ConnectionType(rawValue: try row.optionalString(prefix + "connectionType") ?? "") ?? .external,
            createdAt: try row.timestamp(prefix + "createdAt"),
            updatedAt: try row.timestamp(prefix + "updatedAt")
        )
    }

    public func list(_ scope: ConnectionScope, enabledOnly: Bool) async throws -> [Connection] {
        try await self.database.read { sql in
            let enabled: SQLQueryString = enabledOnly ? #" AND "enable" <> 0"# : ""
            return try await sql.raw(
                "SELECT \(unsafeRaw: Self.columns) FROM \"connections\" WHERE \(scope.filter)\(enabled) ORDER BY \"ownerUserId\" IS NOT NULL, \"id\""
            ).all().map(Self.decode)
        }
    }

    public func find(id: Int, in scope: ConnectionScope) async throws -> Connection? {
        try await self.database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM \"connections\" WHERE \"id\" = \(bind: id) AND \(scope.filter)")
                .first().map(Self.decode)
        }
    }

    public func create(_ new: NewConnection) async throws -> Connection {
        let now = Timestamp.now()
        return try await self.database.write { sql in
            guard
                let row = try await sql.raw(
                    """
                    INSERT INTO "connections" ("ownerUserId", "provider", "baseUrl", "enable", "authType", "apiKey", "headersJson",
                        "azureApiVersion", "prefixId", "tagsJson", "modelIdsJson", "connectionType", "createdAt", "updatedAt")
                    VALUES (\(bind: new.ownerUserId), \(bind: new.provider), \(bind: new.baseUrl), \(bind: flag(new.enable)), \(bind: new.authType),
                        \(bind: new.apiKey), \(bind: Connection.encodeHeaders(new.headers)), \(bind: new.azureApiVersion), \(bind: new.prefixId),
                        \(bind: Connection.encodeTags(new.tags)), \(bind: Connection.encodeStrings(new.modelIds)), \(bind: new.connectionType.rawValue),
                        \(bind: now.milliseconds), \(bind: now.milliseconds))
                    RETURNING "id"
                    """
                ).first()
            else { throw DatabaseError("insert into connections returned no id") }
            return Connection(
                id: try row.int("id"), ownerUserId: new.ownerUserId, provider: new.provider, baseUrl: new.baseUrl, enable: new.enable,
                authType: new.authType, apiKey: new.apiKey, headers: new.headers, azureApiVersion: new.azureApiVersion, prefixId: new.prefixId,
                tags: new.tags, modelIds: new.modelIds, connectionType: new.connectionType, createdAt: now, updatedAt: now
            )
        }
    }

    public func save(_ c: Connection, in scope: ConnectionScope) async throws -> Bool {
        try await self.database.write { sql in
            let row = try await sql.raw(
                """
                UPDATE "connections" SET "provider" = \(bind: c.provider), "baseUrl" = \(bind: c.baseUrl), "enable" = \(bind: flag(c.enable)),
                    "authType" = \(bind: c.authType), "apiKey" = \(bind: c.apiKey), "headersJson" = \(bind: Connection.encodeHeaders(c.headers)),
                    "azureApiVersion" = \(bind: c.azureApiVersion), "prefixId" = \(bind: c.prefixId), "tagsJson" = \(bind: Connection.encodeTags(c.tags)),
                    "modelIdsJson" = \(bind: Connection.encodeStrings(c.modelIds)), "connectionType" = \(bind: c.connectionType.rawValue),
                    "updatedAt" = \(bind: c.updatedAt.milliseconds)
                WHERE "id" = \(bind: c.id) AND \(scope.filter)
                RETURNING "id"
                """
            ).first()
            return row != nil
        }
    }

    public func delete(id: Int, in scope: ConnectionScope) async throws -> Bool {
        try await self.database.write { sql in
            try await sql.raw("DELETE FROM \"connections\" WHERE \"id\" = \(bind: id) AND \(scope.filter) RETURNING \"id\"").first() != nil
        }
    }
}
