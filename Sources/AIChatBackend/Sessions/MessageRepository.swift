import AIChatCore
import Foundation
import SQLKit

/// Storage of messages and usage rows. Callers check session ownership first; every query here is also bound
/// to the session id, so an id from another session is never returned.
public protocol MessageRepository: Sendable {
    /// One page of a session's messages, page 1 being the newest; each page is in chronological order.
    func page(sessionId: Int, page: Int, limit: Int) async throws -> Page<ChatMessageRecord>
    /// Up to `limit` messages older than `beforeId`, in chronological order.
    func before(sessionId: Int, beforeId: Int, limit: Int) async throws -> [ChatMessageRecord]
    func find(id: Int, sessionId: Int) async throws -> ChatMessageRecord?
    func findUser(sessionId: Int, clientMessageId: String) async throws -> ChatMessageRecord?
    /// Inserts a user message when session `sessionId` is `userId`'s and can answer (a model chosen, its connection
    /// enabled and visible to the user); nil when it is not. With a `clientMessageId` that already exists, returns
    /// the existing message unchanged. With `retitle`, a new message also renames the session, in the same
    /// transaction, when its title is still `expected`.
    func insertUser(
        sessionId: Int, userId: Int, content: String, clientMessageId: String?, images: [StoredImage], retitle: (expected: String, title: String)?
    ) async throws -> (ChatMessageRecord, created: Bool)?
    /// Stores an answer and its usage row in one transaction (either may be nil); the usage row refers to the
    /// answer stored with it. Returns the stored answer.
    /// Saves a finished answer (in place of its checkpoint row `replacing`, which is removed when there is no
    /// answer to keep) and its usage, in one transaction.
    func saveAnswer(_ answer: NewAnswer?, usage: NewUsage?, replacing checkpoint: Int?) async throws -> ChatMessageRecord?
    /// Writes the partial text of streaming answers, all in one transaction: a new row (status `streaming`) for an
    /// answer without one, an update otherwise. Returns each answer's row id, in order.
    func checkpoint(_ answers: [AnswerCheckpoint]) async throws -> [Int]
    /// Marks answers left `streaming` by a server that did not stop cleanly as `interrupted`; returns how many.
    func markInterrupted() async throws -> Int
    /// The newest answer to a user message, if any.
    func latestAnswer(sessionId: Int, parentId: Int) async throws -> ChatMessageRecord?
    /// The conversation as the model sees it: user messages and the newest version of each answer, oldest first,
    /// at most the newest `limit`, without `excluding`; without images and reasoning, which a prompt does not carry.
    func history(sessionId: Int, excluding: Int?, limit: Int) async throws -> [ChatMessageRecord]
    /// Replaces a user message's text and removes everything said after it (edit and resend).
    func rewrite(userMessageId: Int, sessionId: Int, content: String) async throws -> ChatMessageRecord?
    func insertUsage(_ usage: NewUsage) async throws
}

public struct NewAnswer: Sendable {
    var sessionId: Int
    var parentId: Int?
    var content: String
    var reasoning: String?
    var reasoningDurationSeconds: Int?
    var status: MessageStatus?
    var model: String?
}

/// The partial text of an answer that is still streaming.
public struct AnswerCheckpoint: Sendable {
    var id: Int?
    var sessionId: Int
    var parentId: Int
    var content: String
    var reasoning: String
    var model: String?
}

public struct NewUsage: Sendable {
    var sessionId: Int
    var messageId: Int?
    var model: String
    var provider: String?
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var contextLimit: Int?
    /// nil for an answer; "title" for a request that only named the conversation.
    var kind: String? = nil
}

public struct SQLMessageRepository: MessageRepository {
    let database: any AppDatabase

    public init(database: any AppDatabase) {
        self.database = database
    }

    static let columns = """
        m."id", m."sessionId", m."role", m."content", m."clientMessageId", m."reasoning", m."reasoningDurationSeconds", m."createdAt",
        m."status", m."imagesJson", m."parentId", m."model"
        """

    /// Messages that are not an answer still streaming (whose text its running job holds).
    static let settled = #"(m."status" IS NULL OR m."status" <> 'streaming')"#

    /// What a prompt needs of the history: no images (only the current question's are sent) and no reasoning.
    static let historyColumns = """
        m."id", m."sessionId", m."role", m."content", m."clientMessageId", NULL AS "reasoning", NULL AS "reasoningDurationSeconds",
        m."createdAt", m."status", NULL AS "imagesJson", m."parentId", m."model"
        """

    static func decode(_ row: any SQLRow) throws -> ChatMessageRecord {
        let imagesJson = try row.optionalString("imagesJson")
        let images = imagesJson.flatMap { try? JSONDecoder().decode([StoredImage].self, from: Data($0.utf8)) } ?? []
        return ChatMessageRecord(
            id: try row.int("id"),
            sessionId: try row.int("sessionId"),
            role: MessageRole(rawValue: try row.string("role")) ?? .user,
            content: try row.string("content"),
            clientMessageId: try row.optionalString("clientMessageId"),
            reasoning: try row.optionalString("reasoning"),
            reasoningDurationSeconds: try row.optionalInt("reasoningDurationSeconds"),
            createdAt: try row.timestamp("createdAt"),
            status: try row.optionalString("status").flatMap(MessageStatus.init(rawValue:)),
            images: images,
            parentId: try row.optionalInt("parentId"),
            model: try row.optionalString("model"),
            usage: try Self.decodeUsage(row)
        )
    }

    /// Columns and join that add each answer's newest usage row to a message query (aliases `u_*`).
    static let usageColumns = #", u."promptTokens" AS "u_prompt", u."completionTokens" AS "u_completion", u."totalTokens" AS "u_total""#
    static let usageJoin = #"""
        LEFT JOIN "usage_metrics" u ON u."id" = (SELECT MAX(x."id") FROM "usage_metrics" x WHERE x."messageId" = m."id")
        """#

    static func decodeUsage(_ row: any SQLRow) throws -> MessageUsage? {
        guard row.contains(column: "u_total"), let total = try row.optionalInt("u_total") else { return nil }
        return MessageUsage(
            prompt_tokens: try row.optionalInt("u_prompt") ?? 0, completion_tokens: try row.optionalInt("u_completion") ?? 0, total_tokens: total)
    }

    public func page(sessionId: Int, page: Int, limit: Int) async throws -> Page<ChatMessageRecord> {
        try await self.database.read { sql in
            let total =
                try await sql.raw(
                    "SELECT COUNT(*) AS \"n\" FROM \"messages\" m WHERE m.\"sessionId\" = \(bind: sessionId) AND \(unsafeRaw: Self.settled)"
                ).first()?.int("n") ?? 0
            let rows = try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.columns)\(unsafeRaw: Self.usageColumns) FROM "messages" m \(unsafeRaw: Self.usageJoin)
                WHERE m."sessionId" = \(bind: sessionId) AND \(unsafeRaw: Self.settled)
                ORDER BY m."id" DESC LIMIT \(bind: limit) OFFSET \(bind: (page - 1) * limit)
                """
            ).all()
            return Page(items: try rows.map(Self.decode).reversed(), total: total)
        }
    }

    public func before(sessionId: Int, beforeId: Int, limit: Int) async throws -> [ChatMessageRecord] {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.columns)\(unsafeRaw: Self.usageColumns) FROM "messages" m \(unsafeRaw: Self.usageJoin)
                WHERE m."sessionId" = \(bind: sessionId) AND m."id" < \(bind: beforeId)
                ORDER BY m."id" DESC LIMIT \(bind: limit)
                """
            ).all().map(Self.decode).reversed()
        }
    }

    public func find(id: Int, sessionId: Int) async throws -> ChatMessageRecord? {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT \(unsafeRaw: Self.columns) FROM \"messages\" m WHERE m.\"id\" = \(bind: id) AND m.\"sessionId\" = \(bind: sessionId)"
            )
            .first().map(Self.decode)
        }
    }

    public func findUser(sessionId: Int, clientMessageId: String) async throws -> ChatMessageRecord? {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.columns) FROM "messages" m
                WHERE m."sessionId" = \(bind: sessionId) AND m."clientMessageId" = \(bind: clientMessageId) AND m."role" = 'user'
                """
            ).first().map(Self.decode)
        }
    }

    static func encodeImages(_ images: [StoredImage]) -> String? {
        images.isEmpty ? nil : String(decoding: (try? JSONEncoder().encode(images)) ?? Data(), as: UTF8.self)
    }

    public func insertUser(
        sessionId: Int, userId: Int, content: String, clientMessageId: String?, images: [StoredImage], retitle: (expected: String, title: String)?
    ) async throws -> (ChatMessageRecord, created: Bool)? {
        let now = Timestamp.now()
        // The insert carries its own ownership and usability check, the unique (sessionId, clientMessageId) index
        // makes a repeated id insert nothing, and the existing message is then read back. Without a title to set,
        // these are single statements with no explicit transaction.
        let insert: @Sendable (any SQLDatabase) async throws -> (ChatMessageRecord, created: Bool)? = { sql in
            let inserted = try await sql.raw(
                """
                INSERT INTO "messages" ("sessionId", "role", "content", "clientMessageId", "createdAt", "imagesJson")
                SELECT \(bind: sessionId), 'user', \(bind: content), \(bind: clientMessageId), \(bind: now.milliseconds),
                    \(bind: Self.encodeImages(images))
                WHERE EXISTS (
                    SELECT 1 FROM "chat_sessions" s JOIN "connections" c ON c."id" = s."connectionId"
                    WHERE s."id" = \(bind: sessionId) AND s."userId" = \(bind: userId) AND s."modelRawId" IS NOT NULL AND s."modelRawId" <> ''
                        AND c."enable" <> 0 AND (c."ownerUserId" IS NULL OR c."ownerUserId" = \(bind: userId)))
                ON CONFLICT ("sessionId", "clientMessageId") DO NOTHING
                RETURNING "id"
                """
            ).first()
            if let inserted {
                let message = ChatMessageRecord(
                    id: try inserted.int("id"), sessionId: sessionId, role: .user, content: content, clientMessageId: clientMessageId, reasoning: nil,
                    reasoningDurationSeconds: nil, createdAt: now, status: nil, images: images, parentId: nil, model: nil
                )
                return (message, true)
            }
            guard clientMessageId != nil,
                let existing = try await sql.raw(
                    """
                    SELECT \(unsafeRaw: Self.columns) FROM "messages" m JOIN "chat_sessions" s ON s."id" = m."sessionId"
                    WHERE m."sessionId" = \(bind: sessionId) AND s."userId" = \(bind: userId) AND m."clientMessageId" = \(bind: clientMessageId)
                    """
                ).first()
            else { return nil }
            return (try Self.decode(existing), false)
        }
        guard let retitle else { return try await self.database.writeStatements(insert) }
        return try await self.database.write { sql in
            let stored = try await insert(sql)
            if stored?.created == true {
                try await sql.raw(
                    """
                    UPDATE "chat_sessions" SET "title" = \(bind: retitle.title)
                    WHERE "id" = \(bind: sessionId) AND "userId" = \(bind: userId) AND "title" = \(bind: retitle.expected)
                    """
                ).run()
            }
            return stored
        }
    }

    public func saveAnswer(_ answer: NewAnswer?, usage: NewUsage?, replacing checkpoint: Int?) async throws -> ChatMessageRecord? {
        guard answer != nil || usage != nil || checkpoint != nil else { return nil }
        let now = Timestamp.now()
        return try await self.database.write { sql in
            var stored: ChatMessageRecord?
            if let answer {
                let id: Int
                if let checkpoint {
                    try await sql.raw(
                        """
                        UPDATE "messages" SET "content" = \(bind: answer.content), "reasoning" = \(bind: answer.reasoning),
                            "reasoningDurationSeconds" = \(bind: answer.reasoningDurationSeconds), "status" = \(bind: answer.status?.rawValue)
                        WHERE "id" = \(bind: checkpoint)
                        """
                    ).run()
                    id = checkpoint
                } else {
                    guard
                        let row = try await sql.raw(
                            """
                            INSERT INTO "messages" ("sessionId", "role", "content", "reasoning", "reasoningDurationSeconds", "createdAt", "status",
                                "parentId", "model")
                            VALUES (\(bind: answer.sessionId), 'assistant', \(bind: answer.content), \(bind: answer.reasoning),
                                \(bind: answer.reasoningDurationSeconds), \(bind: now.milliseconds), \(bind: answer.status?.rawValue), \(bind: answer.parentId),
                                \(bind: answer.model))
                            RETURNING "id"
                            """
                        ).first()
                    else { throw DatabaseError("insert into messages returned no id") }
                    id = try row.int("id")
                }
                stored = ChatMessageRecord(
                    id: id, sessionId: answer.sessionId, role: .assistant, content: answer.content, clientMessageId: nil,
                    reasoning: answer.reasoning, reasoningDurationSeconds: answer.reasoningDurationSeconds, createdAt: now, status: answer.status,
                    images: [], parentId: answer.parentId, model: answer.model
                )
            } else if let checkpoint {
                try await sql.raw("DELETE FROM \"messages\" WHERE \"id\" = \(bind: checkpoint)").run()
            }
            if var usage {
                usage.messageId = stored?.id ?? usage.messageId
                try await Self.insert(usage, at: now, into: sql)
            }
            return stored
        }
    }

    public func checkpoint(_ answers: [AnswerCheckpoint]) async throws -> [Int] {
        guard !answers.isEmpty else { return [] }
        let now = Timestamp.now()
        return try await self.database.write { sql in
            var ids: [Int] = []
            for answer in answers {
                // PostgreSQL cannot store U+0000.
                let content = answer.content.withoutNulCharacters
                let reasoning = answer.reasoning.isEmpty ? nil : answer.reasoning.withoutNulCharacters
                if let id = answer.id {
                    try await sql.raw(
                        """
                        UPDATE "messages" SET "content" = \(bind: content), "reasoning" = \(bind: reasoning)
                        WHERE "id" = \(bind: id) AND "status" = 'streaming'
                        """
                    ).run()
                    ids.append(id)
                } else {
                    guard
                        let row = try await sql.raw(
                            """
                            INSERT INTO "messages" ("sessionId", "role", "content", "reasoning", "createdAt", "status", "parentId", "model")
                            VALUES (\(bind: answer.sessionId), 'assistant', \(bind: content), \(bind: reasoning), \(bind: now.milliseconds),
                                'streaming', \(bind: answer.parentId), \(bind: answer.model))
                            RETURNING "id"
                            """
                        ).first()
                    else { throw DatabaseError("insert into messages returned no id") }
                    ids.append(try row.int("id"))
                }
            }
            return ids
        }
    }

    public func markInterrupted() async throws -> Int {
        try await self.database.write { sql in
            let rows = try await sql.raw(
                "UPDATE \"messages\" SET \"status\" = 'interrupted' WHERE \"status\" = 'streaming' RETURNING \"id\""
            ).all()
            return rows.count
        }
    }

    public func latestAnswer(sessionId: Int, parentId: Int) async throws -> ChatMessageRecord? {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.columns) FROM "messages" m
                WHERE m."sessionId" = \(bind: sessionId) AND m."parentId" = \(bind: parentId) AND m."role" = 'assistant'
                    AND \(unsafeRaw: Self.settled)
                ORDER BY m."id" DESC LIMIT 1
                """
            ).first().map(Self.decode)
        }
    }

    public func history(sessionId: Int, excluding: Int?, limit: Int) async throws -> [ChatMessageRecord] {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: Self.historyColumns) FROM "messages" m
                WHERE m."sessionId" = \(bind: sessionId) AND m."id" <> \(bind: excluding ?? 0) AND \(unsafeRaw: Self.settled)
                    AND (m."role" <> 'assistant' OR m."parentId" IS NULL
                        OR m."id" = (SELECT MAX(v."id") FROM "messages" v WHERE v."parentId" = m."parentId" AND v."role" = 'assistant'))
                ORDER BY COALESCE(m."parentId", m."id") DESC, m."id" DESC LIMIT \(bind: limit)
                """
            ).all().map(Self.decode).reversed()
        }
    }

    public func rewrite(userMessageId: Int, sessionId: Int, content: String) async throws -> ChatMessageRecord? {
        try await self.database.write { sql in
            guard
                let row = try await sql.raw(
                    """
                    SELECT \(unsafeRaw: Self.columns) FROM "messages" m
                    WHERE m."id" = \(bind: userMessageId) AND m."sessionId" = \(bind: sessionId) AND m."role" = 'user'
                    """
                ).first()
            else { return nil }
            var message = try Self.decode(row)
            try await sql.raw("DELETE FROM \"messages\" WHERE \"sessionId\" = \(bind: sessionId) AND \"id\" > \(bind: userMessageId)").run()
            try await sql.raw("UPDATE \"messages\" SET \"content\" = \(bind: content) WHERE \"id\" = \(bind: userMessageId)").run()
            message.content = content
            return message
        }
    }

    public func insertUsage(_ usage: NewUsage) async throws {
        try await self.database.write { sql in try await Self.insert(usage, at: Timestamp.now(), into: sql) }
    }

    private static func insert(_ usage: NewUsage, at time: Timestamp, into sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO "usage_metrics" ("sessionId", "messageId", "model", "provider", "promptTokens", "completionTokens", "totalTokens",
                "contextLimit", "createdAt", "kind")
            VALUES (\(bind: usage.sessionId), \(bind: usage.messageId), \(bind: usage.model), \(bind: usage.provider), \(bind: usage.promptTokens),
                \(bind: usage.completionTokens), \(bind: usage.totalTokens), \(bind: usage.contextLimit), \(bind: time.milliseconds),
                \(bind: usage.kind))
            """
        ).run()
    }
}
