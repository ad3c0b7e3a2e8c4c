import AIChatCore
import SQLKit

/// Token totals as the usage endpoints report them.
struct TokenTotals: Encodable, Sendable, Equatable {
    var prompt_tokens = 0
    var completion_tokens = 0
    var total_tokens = 0
}

struct UsageRow: Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var contextLimit: Int?
    var createdAt: Timestamp
    var model: String
    var provider: String?
}

/// Reads of `usage_metrics`, always restricted to sessions of one user.
protocol UsageRepository: Sendable {
    func totals(sessionId: Int) async throws -> TokenTotals
    func lastRound(sessionId: Int) async throws -> UsageRow?
    func totalsPerSession(userId: Int) async throws -> [(sessionId: Int, totals: TokenTotals)]
    func rows(userId: Int, sessionId: Int?, from: Timestamp, to: Timestamp) async throws -> [UsageRow]
}

struct SQLUsageRepository: UsageRepository {
    let database: any AppDatabase

    static func decode(_ row: any SQLRow) throws -> UsageRow {
        UsageRow(
            promptTokens: try row.int("promptTokens"),
            completionTokens: try row.int("completionTokens"),
            totalTokens: try row.int("totalTokens"),
            contextLimit: try row.optionalInt("contextLimit"),
            createdAt: try row.timestamp("createdAt"),
            model: try row.string("model"),
            provider: try row.optionalString("provider")
        )
    }

    /// A column's sum as a 64-bit integer in both databases: PostgreSQL sums BIGINT columns as NUMERIC, which does
    /// not decode as Int.
    static func sum(_ column: String, as name: String) -> String {
        "CAST(COALESCE(SUM(\(column)), 0) AS BIGINT) AS \(name)"
    }

    func totals(sessionId: Int) async throws -> TokenTotals {
        try await self.database.read { sql in
            guard
                let row = try await sql.raw(
                    """
                    SELECT \(unsafeRaw: Self.sum(#""promptTokens""#, as: "p")), \(unsafeRaw: Self.sum(#""completionTokens""#, as: "c")),
                        \(unsafeRaw: Self.sum(#""totalTokens""#, as: "t"))
                    FROM "usage_metrics" WHERE "sessionId" = \(bind: sessionId)
                    """
                ).first()
            else { return TokenTotals() }
            return TokenTotals(prompt_tokens: try row.int("p"), completion_tokens: try row.int("c"), total_tokens: try row.int("t"))
        }
    }

    func lastRound(sessionId: Int) async throws -> UsageRow? {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT "promptTokens", "completionTokens", "totalTokens", "contextLimit", "createdAt", "model", "provider"
                FROM "usage_metrics" WHERE "sessionId" = \(bind: sessionId) AND "kind" IS NULL ORDER BY "id" DESC LIMIT 1
                """
            ).first().map(Self.decode)
        }
    }

    func totalsPerSession(userId: Int) async throws -> [(sessionId: Int, totals: TokenTotals)] {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT u."sessionId" AS s, \(unsafeRaw: Self.sum(#"u."promptTokens""#, as: "p")),
                    \(unsafeRaw: Self.sum(#"u."completionTokens""#, as: "c")), \(unsafeRaw: Self.sum(#"u."totalTokens""#, as: "t"))
                FROM "usage_metrics" u JOIN "chat_sessions" cs ON cs."id" = u."sessionId"
                WHERE cs."userId" = \(bind: userId) GROUP BY u."sessionId" ORDER BY u."sessionId"
                """
            ).all().map { row in
                (try row.int("s"), TokenTotals(prompt_tokens: try row.int("p"), completion_tokens: try row.int("c"), total_tokens: try row.int("t")))
            }
        }
    }

    func rows(userId: Int, sessionId: Int?, from: Timestamp, to: Timestamp) async throws -> [UsageRow] {
        try await self.database.read { sql in
            var filter: SQLQueryString = "cs.\"userId\" = \(bind: userId)"
            if let sessionId { filter = "\(filter) AND u.\"sessionId\" = \(bind: sessionId)" }
            return try await sql.raw(
                """
                SELECT u."promptTokens", u."completionTokens", u."totalTokens", u."contextLimit", u."createdAt", u."model", u."provider"
                FROM "usage_metrics" u JOIN "chat_sessions" cs ON cs."id" = u."sessionId"
                WHERE \(filter) AND u."createdAt" >= \(bind: from.milliseconds) AND u."createdAt" <= \(bind: to.milliseconds)
                ORDER BY u."createdAt"
                """
            ).all().map(Self.decode)
        }
    }
}
