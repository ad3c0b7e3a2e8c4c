import AIChatCore
import SQLKit

/// Every schema step, in order. Never edit a released step; add a new one.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "original_schema", apply: createOriginalSchema),
        Migration(version: 2, name: "original_optional_columns", apply: addOriginalOptionalColumns),
        Migration(version: 3, name: "token_versions_and_user_settings", apply: addTokenVersionsAndUserSettings),
        Migration(version: 4, name: "chat_core", apply: addChatCore),
        Migration(version: 5, name: "usage_kind", apply: addUsageKind),
    ]

    /// Column types per flavor. SQLite keeps the original's declarations (so a file the original created is
    /// already in this shape); PostgreSQL stores the same values: integers, epoch milliseconds, 0/1 flags.
    struct Types {
        let id: String
        let integer: String
        let datetime: String
        let boolean: String
        let now: String
        let trueValue: String

        init(_ flavor: SQLFlavor) {
            switch flavor {
                case .sqlite:
                    self.id = "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"
                    self.integer = "INTEGER"
                    self.datetime = "DATETIME"
                    self.boolean = "BOOLEAN"
                    self.now = "DEFAULT CURRENT_TIMESTAMP"
                    self.trueValue = "true"
                case .postgres:
                    self.id = "BIGSERIAL PRIMARY KEY"
                    self.integer = "BIGINT"
                    self.datetime = "BIGINT"
                    self.boolean = "INTEGER"
                    self.now = ""
                    self.trueValue = "1"
            }
        }
    }

    /// The tables of the original, as its ORM created them, so an existing database file is left as it is.
    static func createOriginalSchema(_ sql: any SQLDatabase, _ flavor: SQLFlavor) async throws {
        let t = Types(flavor)
        let statements = [
            """
            CREATE TABLE IF NOT EXISTS "users" (
                "id" \(t.id),
                "username" TEXT NOT NULL,
                "hashedPassword" TEXT NOT NULL,
                "role" TEXT NOT NULL DEFAULT 'USER',
                "createdAt" \(t.datetime) NOT NULL \(t.now)
            )
            """,
            #"CREATE UNIQUE INDEX IF NOT EXISTS "users_username_key" ON "users"("username")"#,
            """
            CREATE TABLE IF NOT EXISTS "connections" (
                "id" \(t.id),
                "ownerUserId" \(t.integer),
                "provider" TEXT NOT NULL,
                "baseUrl" TEXT NOT NULL,
                "enable" \(t.boolean) NOT NULL DEFAULT \(t.trueValue),
                "authType" TEXT NOT NULL DEFAULT 'bearer',
                "apiKey" TEXT NOT NULL DEFAULT '',
                "headersJson" TEXT NOT NULL DEFAULT '',
                "azureApiVersion" TEXT,
                "prefixId" TEXT,
                "tagsJson" TEXT NOT NULL DEFAULT '[]',
                "modelIdsJson" TEXT NOT NULL DEFAULT '[]',
                "connectionType" TEXT NOT NULL DEFAULT 'external',
                "createdAt" \(t.datetime) NOT NULL \(t.now),
                "updatedAt" \(t.datetime) NOT NULL,
                CONSTRAINT "connections_ownerUserId_fkey" FOREIGN KEY ("ownerUserId") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS "chat_sessions" (
                "id" \(t.id),
                "userId" \(t.integer) NOT NULL,
                "connectionId" \(t.integer),
                "modelRawId" TEXT,
                "title" TEXT NOT NULL,
                "createdAt" \(t.datetime) NOT NULL \(t.now),
                "reasoningEnabled" \(t.boolean),
                "reasoningEffort" TEXT,
                "ollamaThink" \(t.boolean),
                CONSTRAINT "chat_sessions_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
                CONSTRAINT "chat_sessions_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "connections" ("id") ON DELETE SET NULL ON UPDATE CASCADE
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS "messages" (
                "id" \(t.id),
                "sessionId" \(t.integer) NOT NULL,
                "role" TEXT NOT NULL,
                "content" TEXT NOT NULL,
                "clientMessageId" TEXT,
                "reasoning" TEXT,
                "reasoningDurationSeconds" \(t.integer),
                "createdAt" \(t.datetime) NOT NULL \(t.now),
                CONSTRAINT "messages_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "chat_sessions" ("id") ON DELETE CASCADE ON UPDATE CASCADE
            )
            """,
            #"CREATE UNIQUE INDEX IF NOT EXISTS "messages_sessionId_clientMessageId_key" ON "messages"("sessionId", "clientMessageId")"#,
            """
            CREATE TABLE IF NOT EXISTS "usage_metrics" (
                "id" \(t.id),
                "sessionId" \(t.integer) NOT NULL,
                "messageId" \(t.integer),
                "model" TEXT NOT NULL,
                "provider" TEXT,
                "promptTokens" \(t.integer) NOT NULL DEFAULT 0,
                "completionTokens" \(t.integer) NOT NULL DEFAULT 0,
                "totalTokens" \(t.integer) NOT NULL DEFAULT 0,
                "contextLimit" \(t.integer),
                "createdAt" \(t.datetime) NOT NULL \(t.now),
                CONSTRAINT "usage_metrics_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "chat_sessions" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
                CONSTRAINT "usage_metrics_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "messages" ("id") ON DELETE SET NULL ON UPDATE CASCADE
            )
            """,
            #"CREATE INDEX IF NOT EXISTS "usage_metrics_sessionId_idx" ON "usage_metrics"("sessionId")"#,
            #"CREATE INDEX IF NOT EXISTS "usage_metrics_messageId_idx" ON "usage_metrics"("messageId")"#,
            """
            CREATE TABLE IF NOT EXISTS "system_settings" (
                "key" TEXT NOT NULL PRIMARY KEY,
                "value" TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS "model_catalog" (
                "id" \(t.id),
                "connectionId" \(t.integer) NOT NULL,
                "modelId" TEXT NOT NULL,
                "rawId" TEXT NOT NULL,
                "name" TEXT NOT NULL,
                "provider" TEXT NOT NULL,
                "connectionType" TEXT NOT NULL,
                "tagsJson" TEXT NOT NULL DEFAULT '[]',
                "lastFetchedAt" \(t.datetime) NOT NULL \(t.now),
                "expiresAt" \(t.datetime) NOT NULL,
                CONSTRAINT "model_catalog_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "connections" ("id") ON DELETE CASCADE ON UPDATE CASCADE
            )
            """,
            #"CREATE INDEX IF NOT EXISTS "model_catalog_connectionId_idx" ON "model_catalog"("connectionId")"#,
            #"CREATE UNIQUE INDEX IF NOT EXISTS "model_catalog_connectionId_modelId_key" ON "model_catalog"("connectionId", "modelId")"#,
        ]
        for statement in statements {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    /// Columns that databases of older releases of the original lack (they were added there by manual scripts).
    static func addOriginalOptionalColumns(_ sql: any SQLDatabase, _ flavor: SQLFlavor) async throws {
        let t = Types(flavor)
        try await SchemaInspector.addColumn("reasoning", definition: "TEXT", to: "messages", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("reasoningDurationSeconds", definition: t.integer, to: "messages", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("clientMessageId", definition: "TEXT", to: "messages", in: sql, flavor: flavor)
        try await sql.raw(
            #"CREATE UNIQUE INDEX IF NOT EXISTS "messages_sessionId_clientMessageId_key" ON "messages"("sessionId", "clientMessageId")"#
        ).run()
        try await SchemaInspector.addColumn("reasoningEnabled", definition: t.boolean, to: "chat_sessions", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("reasoningEffort", definition: "TEXT", to: "chat_sessions", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("ollamaThink", definition: t.boolean, to: "chat_sessions", in: sql, flavor: flavor)
        try await sql.raw(#"CREATE INDEX IF NOT EXISTS "chat_sessions_userId_createdAt_idx" ON "chat_sessions"("userId", "createdAt")"#).run()
        try await sql.raw(#"CREATE INDEX IF NOT EXISTS "messages_sessionId_createdAt_idx" ON "messages"("sessionId", "createdAt")"#).run()
    }

    /// Token revocation (`users.tokenVersion`) and persisted personal settings.
    static func addTokenVersionsAndUserSettings(_ sql: any SQLDatabase, _ flavor: SQLFlavor) async throws {
        let t = Types(flavor)
        try await SchemaInspector.addColumn("tokenVersion", definition: "\(t.integer) NOT NULL DEFAULT 0", to: "users", in: sql, flavor: flavor)
        try await sql.raw(
            """
            CREATE TABLE IF NOT EXISTS "user_settings" (
                "userId" \(unsafeRaw: t.integer) NOT NULL,
                "key" TEXT NOT NULL,
                "value" TEXT NOT NULL,
                "updatedAt" \(unsafeRaw: t.datetime) NOT NULL,
                PRIMARY KEY ("userId", "key"),
                CONSTRAINT "user_settings_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE
            )
            """
        ).run()
    }

    /// Model overrides in their own table (a catalog refresh never touches them), message state for stopped and
    /// regenerated answers and stored images, and per-session system prompts.
    static func addChatCore(_ sql: any SQLDatabase, _ flavor: SQLFlavor) async throws {
        let t = Types(flavor)
        try await sql.raw(
            """
            CREATE TABLE IF NOT EXISTS "model_overrides" (
                "connectionId" \(unsafeRaw: t.integer) NOT NULL,
                "rawId" TEXT NOT NULL,
                "tagsJson" TEXT,
                "capabilitiesJson" TEXT,
                "updatedAt" \(unsafeRaw: t.datetime) NOT NULL,
                PRIMARY KEY ("connectionId", "rawId"),
                CONSTRAINT "model_overrides_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "connections" ("id") ON DELETE CASCADE ON UPDATE CASCADE
            )
            """
        ).run()
        // The original kept admin tag edits in its cache table; carry rows whose tags differ from their connection's.
        try await sql.raw(
            """
            INSERT INTO "model_overrides" ("connectionId", "rawId", "tagsJson", "updatedAt")
            SELECT mc."connectionId", mc."rawId", mc."tagsJson", \(bind: Timestamp.now().milliseconds)
            FROM "model_catalog" mc JOIN "connections" c ON c."id" = mc."connectionId"
            WHERE mc."tagsJson" <> c."tagsJson"
            ON CONFLICT ("connectionId", "rawId") DO NOTHING
            """
        ).run()
        try await SchemaInspector.addColumn("status", definition: "TEXT", to: "messages", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("imagesJson", definition: "TEXT", to: "messages", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("parentId", definition: t.integer, to: "messages", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("model", definition: "TEXT", to: "messages", in: sql, flavor: flavor)
        try await SchemaInspector.addColumn("systemPrompt", definition: "TEXT", to: "chat_sessions", in: sql, flavor: flavor)
        try await sql.raw(#"CREATE INDEX IF NOT EXISTS "messages_parentId_idx" ON "messages"("parentId")"#).run()
        try await sql.raw(#"CREATE INDEX IF NOT EXISTS "connections_ownerUserId_idx" ON "connections"("ownerUserId")"#).run()
    }

    /// `usage_metrics.kind`: NULL for an answer (every row the original wrote), `title` for a request that only named
    /// a conversation. Totals count both; the last round of a conversation is its last answer.
    static func addUsageKind(_ sql: any SQLDatabase, _ flavor: SQLFlavor) async throws {
        try await SchemaInspector.addColumn("kind", definition: "TEXT", to: "usage_metrics", in: sql, flavor: flavor)
    }
}
