import AIChatCore
import Foundation
import SQLKit

/// Fields of a session update; for clearable fields `.some(nil)` resets to "follow the system".
public struct SessionChanges: Sendable {
    var title: String?
    var reasoningEnabled: Bool??
    var reasoningEffort: ReasoningEffort??
    var ollamaThink: Bool??
    var systemPrompt: String??
}

/// Storage of sessions; every lookup by id is scoped to the owning user.
public protocol SessionRepository: Sendable {
    func list(userId: Int, search: String?, page: Int, limit: Int) async throws -> Page<(ChatSession, messageCount: Int)>
    func find(id: Int, userId: Int) async throws -> ChatSession?
    func create(userId: Int, connectionId: Int, modelRawId: String, title: String, changes: SessionChanges) async throws -> ChatSession
    func update(id: Int, userId: Int, _ changes: SessionChanges) async throws -> ChatSession?
    func setModel(id: Int, userId: Int, connectionId: Int, modelRawId: String) async throws -> ChatSession?
    func delete(id: Int, userId: Int) async throws -> Bool
    /// The caller's session and its connection (nil when the session has none or it is not visible to the caller),
    /// read together.
    /// The session with its connection as a request to the provider needs it (without its model list and tags).
    func findWithConnection(id: Int, userId: Int) async throws -> (session: ChatSession, connection: Connection?)?
    /// Sets the title only while it is still `expected` (a title the user changed meanwhile is kept).
    func replaceTitle(id: Int, userId: Int, expected: String, with title: String) async throws -> Bool
    func clearMessages(id: Int, userId: Int) async throws -> Bool
}

public struct SQLSessionRepository: SessionRepository {
    let database: any AppDatabase

    public init(database: any AppDatabase) {
        self.database = database
    }

    static let columns = """
        s."id", s."userId", s."connectionId", s."modelRawId", s."title", s."createdAt", s."reasoningEnabled", s."reasoningEffort",
        s."ollamaThink", s."systemPrompt"
        """

    /// The session's connection's columns for sending, prefixed `c_`.
    static let connectionColumns = SQLConnectionRepository.prefixedColumns("c", prefix: "c_", columns: SQLConnectionRepository.sendingColumns)

    static func decode(_ row: any SQLRow) throws -> ChatSession {
        ChatSession(
            id: try row.int("id"),
            userId: try row.int("userId"),
            connectionId: try row.optionalInt("connectionId"),
            modelRawId: try row.optionalString("modelRawId"),
            title: try row.string("title"),
            createdAt: try row.timestamp("createdAt"),
            reasoningEnabled: try row.optionalBool("reasoningEnabled"),
            reasoningEffort: try row.optionalString("reasoningEffort").flatMap(ReasoningEffort.init(rawValue:)),
            ollamaThink: try row.optionalBool("ollamaThink"),
            systemPrompt: try row.optionalString("systemPrompt")
        )
    }

    public func list(userId: Int, search: String?, page: Int, limit: Int) async throws -> Page<(ChatSession, messageCount: Int)> {
        try await self.database.read { sql in
            var filter: SQLQueryString = "s.\"userId\" = \(bind: userId)"
            if let search, !search.isEmpty {
                filter = "\(filter) AND LOWER(s.\"title\") LIKE \(bind: containsPattern(search)) ESCAPE '\\'"
            }
            let total = try await sql.raw("SELECT COUNT(*) AS \"n\" FROM \"chat_sessions\" s WHERE \(filter)").first()?.int("n") ?? 0
            let rows = try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.columns), (SELECT COUNT(*) FROM "messages" m WHERE m."sessionId" = s."id") AS "messageCount"
                FROM "chat_sessions" s WHERE \(filter)
                ORDER BY s."createdAt" DESC, s."id" DESC LIMIT \(bind: limit) OFFSET \(bind: (page - 1) * limit)
                """
            ).all()
            return Page(items: try rows.map { (try Self.decode($0), messageCount: try $0.int("messageCount")) }, total: total)
        }
    }

    public func find(id: Int, userId: Int) async throws -> ChatSession? {
        try await self.database.read { sql in
            try await Self.find(id: id, userId: userId, in: sql)
        }
    }

    static func find(id: Int, userId: Int, in sql: any SQLDatabase) async throws -> ChatSession? {
        try await sql.raw(
            "SELECT \(unsafeRaw: Self.columns) FROM \"chat_sessions\" s WHERE s.\"id\" = \(bind: id) AND s.\"userId\" = \(bind: userId)"
        )
        .first().map(Self.decode)
    }

    public func create(userId: Int, connectionId: Int, modelRawId: String, title: String, changes: SessionChanges) async throws -> ChatSession {
        let now = Timestamp.now()
        return try await self.database.write { sql in
            guard
                let row = try await sql.raw(
                    """
                    INSERT INTO "chat_sessions" ("userId", "connectionId", "modelRawId", "title", "createdAt", "reasoningEnabled", "reasoningEffort",
                        "ollamaThink", "systemPrompt")
                    VALUES (\(bind: userId), \(bind: connectionId), \(bind: modelRawId), \(bind: title), \(bind: now.milliseconds),
                        \(bind: (changes.reasoningEnabled ?? nil).map(flag)), \(bind: (changes.reasoningEffort ?? nil)?.rawValue),
                        \(bind: (changes.ollamaThink ?? nil).map(flag)), \(bind: changes.systemPrompt ?? nil))
                    RETURNING "id"
                    """
                ).first()
            else { throw DatabaseError("insert into chat_sessions returned no id") }
            return ChatSession(
                id: try row.int("id"), userId: userId, connectionId: connectionId, modelRawId: modelRawId, title: title, createdAt: now,
                reasoningEnabled: changes.reasoningEnabled ?? nil, reasoningEffort: changes.reasoningEffort ?? nil,
                ollamaThink: changes.ollamaThink ?? nil, systemPrompt: changes.systemPrompt ?? nil
            )
        }
    }

    public func findWithConnection(id: Int, userId: Int) async throws -> (session: ChatSession, connection: Connection?)? {
        try await self.database.read { sql in
            guard
                let row = try await sql.raw(
                    """
                    SELECT \(unsafeRaw: Self.columns), \(unsafeRaw: Self.connectionColumns)
                    FROM "chat_sessions" s LEFT JOIN "connections" c ON c."id" = s."connectionId"
                        AND (c."ownerUserId" IS NULL OR c."ownerUserId" = \(bind: userId))
                    WHERE s."id" = \(bind: id) AND s."userId" = \(bind: userId)
                    """
                ).first()
            else { return nil }
            let connection = try row.optionalInt("c_id") == nil ? nil : SQLConnectionRepository.decode(row, prefix: "c_")
            return (try Self.decode(row), connection)
        }
    }

    public func replaceTitle(id: Int, userId: Int, expected: String, with title: String) async throws -> Bool {
        try await self.database.write { sql in
            try await sql.raw(
                """
                UPDATE "chat_sessions" SET "title" = \(bind: title)
                WHERE "id" = \(bind: id) AND "userId" = \(bind: userId) AND "title" = \(bind: expected)
                """
            ).run()
            return try await Self.find(id: id, userId: userId, in: sql)?.title == title
        }
    }

    public func update(id: Int, userId: Int, _ changes: SessionChanges) async throws -> ChatSession? {
        try await self.database.write { sql in
            guard var session = try await Self.find(id: id, userId: userId, in: sql) else { return nil }
            if let title = changes.title { session.title = title }
            if let value = changes.reasoningEnabled { session.reasoningEnabled = value }
            if let value = changes.reasoningEffort { session.reasoningEffort = value }
            if let value = changes.ollamaThink { session.ollamaThink = value }
            if let value = changes.systemPrompt { session.systemPrompt = value }
            try await sql.raw(
                """
                UPDATE "chat_sessions" SET "title" = \(bind: session.title), "reasoningEnabled" = \(bind: session.reasoningEnabled.map(flag)),
                    "reasoningEffort" = \(bind: session.reasoningEffort?.rawValue), "ollamaThink" = \(bind: session.ollamaThink.map(flag)),
                    "systemPrompt" = \(bind: session.systemPrompt)
                WHERE "id" = \(bind: id) AND "userId" = \(bind: userId)
                """
            ).run()
            return session
        }
    }

    public func setModel(id: Int, userId: Int, connectionId: Int, modelRawId: String) async throws -> ChatSession? {
        try await self.database.write { sql in
            guard var session = try await Self.find(id: id, userId: userId, in: sql) else { return nil }
            try await sql.raw(
                """
                UPDATE "chat_sessions" SET "connectionId" = \(bind: connectionId), "modelRawId" = \(bind: modelRawId)
                WHERE "id" = \(bind: id) AND "userId" = \(bind: userId)
                """
            ).run()
            session.connectionId = connectionId
            session.modelRawId = modelRawId
            return session
        }
    }

    public func delete(id: Int, userId: Int) async throws -> Bool {
        try await self.database.write { sql in
            try await sql.raw("DELETE FROM \"chat_sessions\" WHERE \"id\" = \(bind: id) AND \"userId\" = \(bind: userId) RETURNING \"id\"").first()
                != nil
        }
    }

    public func clearMessages(id: Int, userId: Int) async throws -> Bool {
        try await self.database.write { sql in
            guard try await Self.find(id: id, userId: userId, in: sql) != nil else { return false }
            try await sql.raw("DELETE FROM \"messages\" WHERE \"sessionId\" = \(bind: id)").run()
            return true
        }
    }
}
