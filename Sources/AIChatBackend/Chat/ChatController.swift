import AIChatCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Write-side chat endpoints: send (stream or JSON), regenerate, edit and resend (`generate` is ``GenerateController``).
struct ChatController {
    let service: ChatService
    let sessions: any SessionRepository
    let messages: any MessageRepository
    let usage: any UsageRepository
    let resolver: ModelResolver
    let bodyLimit: Int

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("stream", use: self.stream)
        group.post("completion", use: self.completion)
        group.post("regenerate", use: self.regenerate)
        group.post("edit", use: self.edit)
    }

    static let defaultTitles: Set<String> = ["", "New Chat", "新的对话", "新对话"]

    /// A title from the first message: code blocks and images removed, Markdown markers stripped, one line,
    /// at most 30 characters.
    static func title(from text: String) -> String {
        var lines: [Substring] = []
        var inCode = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("```") {
                inCode.toggle()
                continue
            }
            if inCode { continue }
            let line = Self.withoutImages(raw).drop { $0.isWhitespace || "#>*-".contains($0) }
            if !line.isEmpty { lines.append(line) }
        }
        let joined = lines.joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines)
        return String(joined.prefix(30))
    }

    /// `line` without Markdown images (`![alt](target)`, the alt without `]`, the target without `)`).
    static func withoutImages(_ line: Substring) -> Substring {
        guard line.contains("![") else { return line }
        var kept = Substring()
        var rest = line[...]
        while let bang = rest.firstIndex(of: "!") {
            kept += rest[..<bang]
            let afterBang = rest.index(after: bang)
            if rest[afterBang...].hasPrefix("["), let close = rest[afterBang...].firstIndex(of: "]"),
                rest[rest.index(after: close)...].hasPrefix("("),
                let end = rest[rest.index(after: close)...].firstIndex(of: ")")
            {
                rest = rest[rest.index(after: end)...]
            } else {
                kept.append("!")
                rest = rest[afterBang...]
            }
        }
        return kept + rest
    }

    /// What a send leads to: an answer's job to watch, or a finished answer replayed.
    enum Prepared: Sendable {
        case running(GenerationJob, GenerationPlan)
        case replay([ByteBuffer], GenerationPlan)

        var plan: GenerationPlan {
            switch self {
                case .running(_, let plan), .replay(_, let plan): plan
            }
        }
    }

    /// Stores the user message (once per `clientMessageId`), then starts its answer — or attaches to the answer
    /// already running for it, or replays the answer it already has.
    ///
    /// The session is reserved first (``GenerationRegistry/reserve(sessionId:)``), so two sends racing in one session
    /// cannot both store a question: the second is told an answer is running.
    func prepare(_ body: ChatRequestBody, user: User) async throws -> Prepared {
        guard let (session, boundConnection) = try await self.sessions.findWithConnection(id: body.sessionId, userId: user.id) else {
            throw APIError.notFound("Chat session not found")
        }
        let connection = try ChatService.usable(boundConnection, session: session)
        try await self.resolver.requireOffered(session.modelRawId ?? "", on: connection, to: user)
        switch self.service.registry.reserve(sessionId: session.id) {
            case .reserved: break
            case .running(let job):
                // The same question sent again (a retry, a second tab): it watches the answer that runs for it.
                guard let id = body.clientMessageId, job.clientMessageId == id,
                    let question = try await self.messages.find(id: job.userMessageId, sessionId: session.id)
                else { throw Self.busy }
                return .running(job, self.plan(body, user: user, session: session, connection: connection, message: question))
            case .busy: throw Self.busy
            case .draining: throw Self.restarting
        }
        defer { self.service.registry.release(sessionId: session.id) }
        // A conversation still under a default title is named after its first message, in the same transaction.
        let untitled = Self.defaultTitles.contains(session.title.trimmingCharacters(in: .whitespaces))
        let title = untitled ? Self.title(from: body.content) : ""
        guard
            let (message, created) = try await self.messages.insertUser(
                sessionId: body.sessionId, userId: user.id, content: body.content, clientMessageId: body.clientMessageId, images: body.images,
                retitle: title.isEmpty ? nil : (expected: session.title, title: title)
            )
        else {
            // The session was usable when read but not when the message was stored: it changed in between.
            throw APIError.conflict("The chat session changed while sending; try again")
        }
        var plan = self.plan(body, user: user, session: session, connection: connection, message: message)
        if created {
            if untitled { plan.derivedTitle = title.isEmpty ? session.title : title }
        } else if let answer = try await self.messages.latestAnswer(sessionId: session.id, parentId: message.id) {
            // A repeated clientMessageId whose answer is stored.
            return .replay(Self.replay(userMessage: message, answer: answer), plan)
        }
        // A new question, or one stored by an earlier request that left no answer.
        return .running(try self.service.start(plan), plan)
    }

    func plan(_ body: ChatRequestBody, user: User, session: ChatSession, connection: Connection, message: ChatMessageRecord) -> GenerationPlan {
        GenerationPlan(
            user: user, session: session, connection: connection, userMessage: message,
            reasoningEnabled: body.reasoningEnabled, reasoningEffort: body.reasoningEffort, ollamaThink: body.ollamaThink,
            saveReasoning: body.saveReasoning
        )
    }

    /// A stored answer in the stream format.
    static func replay(userMessage: ChatMessageRecord, answer: ChatMessageRecord) -> [ByteBuffer] {
        var frames = [SSEFrame.start(messageId: userMessage.id)]
        if let reasoning = answer.reasoning, !reasoning.isEmpty {
            frames.append(SSEFrame.reasoning(reasoning))
            frames.append(SSEFrame.reasoningDone(duration: answer.reasoningDurationSeconds ?? 0))
        }
        if !answer.content.isEmpty { frames.append(SSEFrame.content(answer.content)) }
        if answer.status == .stopped { frames.append(SSEFrame.stop(reason: "cancelled")) }
        frames.append(SSEFrame.event(["type": .string("complete"), "assistantMessageId": .number(Double(answer.id))]))
        return frames
    }

    @Sendable func stream(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let body = try ChatRequestBody(try await request.jsonObject(limit: self.bodyLimit))
        switch try await self.prepare(body, user: user) {
            case .replay(let frames, _): return ChatStreamResponse.replay(frames)
            case .running(let job, _): return try ChatStreamResponse.make(job: job, registry: self.service.registry)
        }
    }

    struct CompletionResult: Encodable, Sendable {
        let content: String
        let reasoning: String?
        let usage: UsageJSON?
        let messageId: Int
        let assistantMessageId: Int?
    }

    /// The answer's usage as the stream's last `usage` event reports it: `context_remaining` = max(0, limit − prompt).
    struct UsageJSON: Encodable, Sendable {
        let prompt_tokens: Int
        let completion_tokens: Int
        let total_tokens: Int
        let context_limit: Int?
        let context_remaining: Int?

        init(_ row: UsageRow) {
            self.prompt_tokens = row.promptTokens
            self.completion_tokens = row.completionTokens
            self.total_tokens = row.totalTokens
            self.context_limit = row.contextLimit
            self.context_remaining = row.contextLimit.map { max(0, $0 - row.promptTokens) }
        }
    }

    /// Like `/stream`, but waits for the whole answer and returns it as JSON (502 when the provider failed).
    @Sendable func completion(_ request: Request, context: AppRequestContext) async throws -> Envelope<CompletionResult> {
        var request = request
        let user = try context.requireUser()
        let body = try ChatRequestBody(try await request.jsonObject(limit: self.bodyLimit))
        let prepared = try await self.prepare(body, user: user)
        let userMessageId = prepared.plan.userMessage.id
        if case .running(let job, _) = prepared {
            await job.wait()
            if let error = job.errorMessage, try await self.messages.latestAnswer(sessionId: job.sessionId, parentId: userMessageId) == nil {
                throw APIError(.badGateway, error)
            }
        }
        let answer = try await self.messages.latestAnswer(sessionId: prepared.plan.session.id, parentId: userMessageId)
        let round = try await self.usage.lastRound(sessionId: prepared.plan.session.id)
        return Envelope(
            CompletionResult(
                content: answer?.content ?? "", reasoning: answer?.reasoning,
                usage: round.map(UsageJSON.init),
                messageId: userMessageId, assistantMessageId: answer?.id
            )
        )
    }

    /// Generates a new version of an answer (the old one stays as a sibling). `messageId` may name the answer or
    /// the user message it answers.
    @Sendable func regenerate(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let sessionId = try body.integer("sessionId", in: 1...Int.max)
        let messageId = try body.integer("messageId", in: 1...Int.max)
        let (session, connection) = try await self.reserveSession(sessionId, user: user)
        defer { self.service.registry.release(sessionId: session.id) }
        guard let message = try await self.messages.find(id: messageId, sessionId: session.id) else { throw APIError.notFound("Message not found") }
        let question: ChatMessageRecord
        if message.role == .user {
            question = message
        } else if let parentId = message.parentId, let parent = try await self.messages.find(id: parentId, sessionId: session.id) {
            question = parent
        } else if let earlier = try await self.messages.before(sessionId: session.id, beforeId: message.id, limit: 50).last(where: {
            $0.role == .user
        }) {
            question = earlier
        } else {
            throw APIError.notFound("No corresponding user message found")
        }
        let plan = try Self.plan(answering: question, user: user, session: session, connection: connection, options: body)
        return try ChatStreamResponse.make(job: try self.service.start(plan), registry: self.service.registry)
    }

    /// Replaces a user message's text, removes everything after it, and answers it again.
    @Sendable func edit(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let sessionId = try body.integer("sessionId", in: 1...Int.max)
        let messageId = try body.integer("messageId", in: 1...Int.max)
        let content = try body.string("content", minLength: 1, maxLength: ChatRequestBody.maxContentLength)
        let (session, connection) = try await self.reserveSession(sessionId, user: user)
        defer { self.service.registry.release(sessionId: session.id) }
        guard let message = try await self.messages.rewrite(userMessageId: messageId, sessionId: session.id, content: content) else {
            throw APIError.notFound("Message not found")
        }
        let plan = try Self.plan(answering: message, user: user, session: session, connection: connection, options: body)
        return try ChatStreamResponse.make(job: try self.service.start(plan), registry: self.service.registry)
    }

    /// The caller's session and its connection, reserved for a new answer (release it once the answer started or
    /// could not): 404 for a session that is not the caller's, 400 when it cannot answer, 409 while an answer is
    /// running in it.
    func reserveSession(_ sessionId: Int, user: User) async throws -> (ChatSession, Connection) {
        guard let (session, connection) = try await self.sessions.findWithConnection(id: sessionId, userId: user.id) else {
            throw APIError.notFound("Chat session not found")
        }
        let usable = try ChatService.usable(connection, session: session)
        try await self.resolver.requireOffered(session.modelRawId ?? "", on: usable, to: user)
        switch self.service.registry.reserve(sessionId: session.id) {
            case .reserved: return (session, usable)
            case .running, .busy: throw Self.busy
            case .draining: throw Self.restarting
        }
    }

    static let busy = APIError.conflict("An answer is still being generated in this session; stop it first")
    static let restarting = APIError(.serviceUnavailable, "The server is restarting; try again in a moment")

    /// A plan answering `question` again, with the request's optional reasoning fields.
    static func plan(
        answering question: ChatMessageRecord, user: User, session: ChatSession, connection: Connection, options body: JSONObject
    ) throws
        -> GenerationPlan
    {
        GenerationPlan(
            user: user, session: session, connection: connection, userMessage: question,
            reasoningEnabled: try body.optionalBool("reasoningEnabled"),
            reasoningEffort: try body.optionalChoice("reasoningEffort", as: ReasoningEffort.self),
            ollamaThink: try body.optionalBool("ollamaThink"), saveReasoning: try body.optionalBool("saveReasoning")
        )
    }
}
