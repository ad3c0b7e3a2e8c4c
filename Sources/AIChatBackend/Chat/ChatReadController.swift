import AIChatCore
import Foundation
import Hummingbird

/// Read-side chat endpoints: message pages, usage figures, re-attaching to a running answer, and stop.
struct ChatReadController {
    let sessions: any SessionRepository
    let messages: any MessageRepository
    let usage: any UsageRepository
    let registry: GenerationRegistry
    let contextLimits: ContextLimits
    let bodyLimit: Int

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("sessions/:sessionId/messages", use: self.messagePage)
        group.get("sessions/:sessionId/stream", use: self.reattach)
        group.get("sessions/usage", use: self.sessionsUsage)
        group.get("usage", use: self.sessionUsage)
        group.get("usage/daily", use: self.dailyUsage)
        group.post("stop", use: self.stop)
    }

    func ownedSession(_ id: Int, user: User) async throws -> ChatSession {
        guard let session = try await self.sessions.find(id: id, userId: user.id) else { throw APIError.notFound("Chat session not found") }
        return session
    }

    struct MessagePage: Encodable, Sendable {
        let messages: [MessageDTO]
        let pagination: Pagination
        /// Whether older messages exist before the first one returned.
        let hasMore: Bool
    }

    /// Page 1 is the newest `limit` messages (oldest first within the page); `beforeId` pages further back.
    @Sendable func messagePage(_ request: Request, context: AppRequestContext) async throws -> Envelope<MessagePage> {
        let user = try context.requireUser()
        let session = try await self.ownedSession(try context.parameters.positiveInt("sessionId", message: "Invalid session ID"), user: user)
        let limit = try request.queryInt("limit", default: 50, range: 1...500)
        if let beforeRaw = request.queryString("beforeId") {
            guard let beforeId = Int(beforeRaw), beforeId > 0 else { throw APIError.invalidField("beforeId", "must be a positive integer") }
            let items = try await self.messages.before(sessionId: session.id, beforeId: beforeId, limit: limit + 1)
            let page = Array(items.suffix(limit))
            let total = try await self.messages.page(sessionId: session.id, page: 1, limit: 1).total
            return Envelope(
                MessagePage(
                    messages: page.map(MessageDTO.init), pagination: Pagination(page: 1, limit: limit, total: total), hasMore: items.count > limit))
        }
        let page = try request.queryInt("page", default: 1, range: 1...1_000_000)
        let result = try await self.messages.page(sessionId: session.id, page: page, limit: limit)
        return Envelope(
            MessagePage(
                messages: result.items.map(MessageDTO.init),
                pagination: Pagination(page: page, limit: limit, total: result.total),
                hasMore: page * limit < result.total
            )
        )
    }

    /// Streams the running answer of a session (what was produced so far, then the rest); 204 when none runs.
    @Sendable func reattach(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let session = try await self.ownedSession(try context.parameters.positiveInt("sessionId", message: "Invalid session ID"), user: user)
        guard let job = self.registry.job(sessionId: session.id), job.userId == user.id else { return Response(status: .noContent) }
        return try ChatStreamResponse.make(job: job, registry: self.registry)
    }

    @Sendable func stop(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let session = try await self.ownedSession(try body.integer("sessionId", in: 1...Int.max), user: user)
        guard let job = self.registry.job(sessionId: session.id), job.userId == user.id else {
            return MessageEnvelope("Stop request received")
        }
        job.requestStop()
        await job.wait()
        return MessageEnvelope("Generation stopped")
    }

    struct LastRound: Encodable, Sendable {
        let prompt_tokens: Int
        let completion_tokens: Int
        let total_tokens: Int
        let context_limit: Int?
        let createdAt: Timestamp
        let model: String
        let provider: String?
    }

    struct Current: Encodable, Sendable {
        let prompt_tokens: Int
        let context_limit: Int
        let context_remaining: Int
    }

    struct SessionUsage: Encodable, Sendable {
        let totals: TokenTotals
        let last_round: LastRound?
        let current: Current
    }

    @Sendable func sessionUsage(_ request: Request, context: AppRequestContext) async throws -> Envelope<SessionUsage> {
        let user = try context.requireUser()
        guard let raw = request.queryString("sessionId"), let id = Int(raw), id > 0 else { throw APIError.badRequest("Invalid sessionId") }
        let session = try await self.ownedSession(id, user: user)
        let totals = try await self.usage.totals(sessionId: session.id)
        let last = try await self.usage.lastRound(sessionId: session.id).map {
            LastRound(
                prompt_tokens: $0.promptTokens, completion_tokens: $0.completionTokens, total_tokens: $0.totalTokens, context_limit: $0.contextLimit,
                createdAt: $0.createdAt, model: $0.model, provider: $0.provider
            )
        }
        let limit = try await self.contextLimits.limit(for: user, session: session)
        let history = try await self.messages.history(sessionId: session.id, excluding: nil, limit: 500)
        let prompt = PromptBudget.cost(of: history.map { ($0.role.rawValue, $0.content) })
        return Envelope(
            SessionUsage(
                totals: totals, last_round: last,
                current: Current(prompt_tokens: prompt, context_limit: limit, context_remaining: max(0, limit - prompt)))
        )
    }

    struct SessionTotals: Encodable, Sendable {
        let sessionId: Int
        let totals: TokenTotals
    }

    @Sendable func sessionsUsage(_ request: Request, context: AppRequestContext) async throws -> Envelope<[SessionTotals]> {
        let user = try context.requireUser()
        return Envelope(try await self.usage.totalsPerSession(userId: user.id).map { SessionTotals(sessionId: $0.sessionId, totals: $0.totals) })
    }

    struct DailyRow: Encodable, Sendable {
        let date: String
        var prompt_tokens: Int
        var completion_tokens: Int
        var total_tokens: Int
    }

    struct Daily: Encodable, Sendable {
        let from: Timestamp
        let to: Timestamp
        let rows: [DailyRow]
    }

    /// Usage per calendar day of the server's time zone; `from`/`to` are `YYYY-MM-DD` or ISO-8601.
    @Sendable func dailyUsage(_ request: Request, context: AppRequestContext) async throws -> Envelope<Daily> {
        let user = try context.requireUser()
        let calendar = Calendar.current
        let now = Date()
        func parse(_ name: String, endOfDay: Bool) throws -> Date? {
            guard let raw = request.queryString(name) else { return nil }
            let parts = raw.split(separator: "-")
            if raw.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
                let day = calendar.date(from: DateComponents(year: y, month: m, day: d)), calendar.component(.day, from: day) == d
            {
                return endOfDay ? day.addingTimeInterval(86_400 - 0.001) : day
            }
            if let stamp = Timestamp(parsing: raw) { return Date(timeIntervalSince1970: Double(stamp.milliseconds) / 1000) }
            throw APIError.badRequest("Invalid date range")
        }
        var from = try parse("from", endOfDay: false) ?? now.addingTimeInterval(-30 * 86_400)
        var to = try parse("to", endOfDay: true) ?? now
        if from > to { swap(&from, &to) }
        var sessionId: Int?
        if let raw = request.queryString("sessionId") {
            guard let id = Int(raw), id > 0 else { throw APIError.badRequest("Invalid sessionId") }
            sessionId = try await self.ownedSession(id, user: user).id
        }
        let fromStamp = Timestamp(milliseconds: Int64(from.timeIntervalSince1970 * 1000))
        let toStamp = Timestamp(milliseconds: Int64(to.timeIntervalSince1970 * 1000))
        let rows = try await self.usage.rows(userId: user.id, sessionId: sessionId, from: fromStamp, to: toStamp)
        var days: [String: DailyRow] = [:]
        for row in rows {
            let date = Date(timeIntervalSince1970: Double(row.createdAt.milliseconds) / 1000)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let key = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            var entry = days[key] ?? DailyRow(date: key, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0)
            entry.prompt_tokens += row.promptTokens
            entry.completion_tokens += row.completionTokens
            entry.total_tokens += row.totalTokens
            days[key] = entry
        }
        return Envelope(Daily(from: fromStamp, to: toStamp, rows: days.values.sorted { $0.date < $1.date }))
    }
}
