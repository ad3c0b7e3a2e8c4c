import AIChatCore
import Hummingbird

/// `/api/sessions`: the caller's conversations.
struct SessionsController {
    let sessions: any SessionRepository
    let messages: any MessageRepository
    let connections: any ConnectionRepository
    let resolver: ModelResolver
    let registry: GenerationRegistry
    let bodyLimit: Int

    struct SessionList: Encodable, Sendable {
        let sessions: [SessionDTO]
        let pagination: Pagination
    }

    struct SessionWithMessages: Encodable, Sendable {
        let session: SessionDTO
        let messages: [MessageDTO]

        func encode(to encoder: any Encoder) throws {
            try self.session.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(self.messages, forKey: .messages)
        }

        enum Key: String, CodingKey { case messages }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: self.list)
        group.post(use: self.create)
        group.get(":id", use: self.show)
        group.put(":id", use: self.update)
        group.put(":id/model", use: self.switchModel)
        group.delete(":id", use: self.delete)
        group.delete(":id/messages", use: self.clearMessages)
    }

    static func sessionID(_ context: AppRequestContext, _ name: String = "id") throws -> Int {
        try context.parameters.positiveInt(name, message: "Invalid session ID")
    }

    func dto(_ session: ChatSession, user: User, messageCount: Int? = nil) async throws -> SessionDTO {
        var connection: Connection?
        if let id = session.connectionId { connection = try await self.connections.find(id: id, in: .visible(to: user.id)) }
        return SessionDTO(session, connection: connection, messageCount: messageCount, viewer: user)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Envelope<SessionList> {
        let user = try context.requireUser()
        let page = try request.queryInt("page", default: 1, range: 1...1_000_000)
        let limit = try request.queryInt("limit", default: 20, range: 1...100)
        let search = request.queryString("search").map { String($0.prefix(200)) }
        let result = try await self.sessions.list(userId: user.id, search: search, page: page, limit: limit)
        let visible = try await self.connections.list(.visible(to: user.id), enabledOnly: false)
        let byId = Dictionary(uniqueKeysWithValues: visible.map { ($0.id, $0) })
        let items = result.items.map { session, count in
            SessionDTO(session, connection: session.connectionId.flatMap { byId[$0] }, messageCount: count, viewer: user)
        }
        return Envelope(SessionList(sessions: items, pagination: Pagination(page: page, limit: limit, total: result.total)))
    }

    /// Reads the optional session preferences of a create or update body (`null` or `""` clear a value).
    static func changes(_ body: JSONObject) throws -> SessionChanges {
        var changes = SessionChanges()
        if let title = try body.optionalString("title", maxLength: 200, trim: true) {
            guard !title.isEmpty else { throw APIError.invalidField("title", "must not be empty") }
            changes.title = title
        }
        switch try body.presentBool("reasoningEnabled") {
            case .absent: break
            case .null: changes.reasoningEnabled = .some(nil)
            case .value(let value): changes.reasoningEnabled = value
        }
        if body.raw("reasoningEffort") == .string("") {
            changes.reasoningEffort = .some(nil)
        } else {
            switch try body.presentChoice("reasoningEffort", as: ReasoningEffort.self) {
                case .absent: break
                case .null: changes.reasoningEffort = .some(nil)
                case .value(let value): changes.reasoningEffort = value
            }
        }
        switch try body.presentBool("ollamaThink") {
            case .absent: break
            case .null: changes.ollamaThink = .some(nil)
            case .value(let value): changes.ollamaThink = value
        }
        switch try body.presentString("systemPrompt", maxLength: 20_000, trim: true) {
            case .absent: break
            case .null: changes.systemPrompt = .some(nil)
            case .value(let text): changes.systemPrompt = text.isEmpty ? .some(nil) : text
        }
        return changes
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Envelope<SessionDTO> {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let modelId = try body.optionalString("modelId", minLength: 1, maxLength: 512)
        let connectionId = try body.optionalInteger("connectionId", in: 1...Int.max)
        let rawId = try body.optionalString("rawId", minLength: 1, maxLength: 512)
        if modelId == nil, connectionId == nil || rawId == nil { throw APIError.invalidField("modelId", "is required") }
        let changes = try Self.changes(body)
        let (connection, model) = try await self.resolver.resolveOffered(user: user, modelId: modelId, connectionId: connectionId, rawId: rawId)
        let session = try await self.sessions.create(
            userId: user.id, connectionId: connection.id, modelRawId: model, title: changes.title ?? "New Chat", changes: changes
        )
        return Envelope(SessionDTO(session, connection: connection, messageCount: nil, viewer: user), message: "Chat session created successfully")
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Envelope<SessionWithMessages> {
        let user = try context.requireUser()
        guard let session = try await self.sessions.find(id: try Self.sessionID(context), userId: user.id) else {
            throw APIError.notFound("Chat session not found")
        }
        // `?messages=0` leaves the messages out; `?messages=N` returns the newest N (all by default).
        let wanted = request.queryString("messages") == "false" ? 0 : try request.queryInt("messages", default: 10_000, range: 0...10_000)
        let items = wanted == 0 ? [] : try await self.messages.page(sessionId: session.id, page: 1, limit: wanted).items
        return Envelope(SessionWithMessages(session: try await self.dto(session, user: user), messages: items.map(MessageDTO.init)))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Envelope<SessionDTO> {
        var request = request
        let user = try context.requireUser()
        let id = try Self.sessionID(context)
        let changes = try Self.changes(try await request.jsonObject(limit: self.bodyLimit))
        guard let session = try await self.sessions.update(id: id, userId: user.id, changes) else {
            throw APIError.notFound("Chat session not found")
        }
        return Envelope(try await self.dto(session, user: user), message: "Session updated successfully")
    }

    @Sendable func switchModel(_ request: Request, context: AppRequestContext) async throws -> Envelope<SessionDTO> {
        var request = request
        let user = try context.requireUser()
        let id = try Self.sessionID(context)
        let body = try await request.jsonObject(limit: self.bodyLimit)
        guard try await self.sessions.find(id: id, userId: user.id) != nil else { throw APIError.notFound("Chat session not found") }
        let modelId = try body.optionalString("modelId", minLength: 1, maxLength: 512)
        let connectionId = try body.optionalInteger("connectionId", in: 1...Int.max)
        let rawId = try body.optionalString("rawId", minLength: 1, maxLength: 512)
        if modelId == nil, connectionId == nil || rawId == nil { throw APIError.invalidField("modelId", "is required") }
        let (connection, model) = try await self.resolver.resolveOffered(user: user, modelId: modelId, connectionId: connectionId, rawId: rawId)
        guard let session = try await self.sessions.setModel(id: id, userId: user.id, connectionId: connection.id, modelRawId: model) else {
            throw APIError.notFound("Chat session not found")
        }
        return Envelope(SessionDTO(session, connection: connection, messageCount: nil, viewer: user))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        let user = try context.requireUser()
        let id = try Self.sessionID(context)
        // An answer still being written in this chat stops and is not saved.
        await self.registry.discard(userId: user.id, sessionId: id)
        guard try await self.sessions.delete(id: id, userId: user.id) else {
            throw APIError.notFound("Chat session not found")
        }
        return MessageEnvelope("Chat session deleted successfully")
    }

    @Sendable func clearMessages(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        let user = try context.requireUser()
        let id = try Self.sessionID(context)
        await self.registry.discard(userId: user.id, sessionId: id)
        guard try await self.sessions.clearMessages(id: id, userId: user.id) else {
            throw APIError.notFound("Chat session not found")
        }
        return MessageEnvelope("Session messages cleared successfully")
    }
}
