import AIChatCore

public enum ReasoningEffort: String, CaseIterable, Sendable, Codable {
    case low, medium, high
}

/// A conversation as stored in `chat_sessions`.
public struct ChatSession: Sendable, Equatable {
    public var id: Int
    public var userId: Int
    public var connectionId: Int?
    public var modelRawId: String?
    public var title: String
    public var createdAt: Timestamp
    /// nil: follow the system setting.
    public var reasoningEnabled: Bool?
    public var reasoningEffort: ReasoningEffort?
    public var ollamaThink: Bool?
    public var systemPrompt: String?
}

/// The session shape of the API (`connection` is null when its connection was deleted).
public struct SessionDTO: Encodable, Sendable {
    public struct ConnectionSummary: Encodable, Sendable {
        public let id: Int
        public let provider: String
        public let baseUrl: String
        public let prefixId: String?
    }

    public struct Counts: Encodable, Sendable {
        public let messages: Int
    }

    public let id: Int
    public let userId: Int
    public let connectionId: Int?
    public let modelRawId: String?
    public let title: String
    public let createdAt: Timestamp
    public let reasoningEnabled: Bool?
    public let reasoningEffort: ReasoningEffort?
    public let ollamaThink: Bool?
    public let systemPrompt: String?
    public let connection: ConnectionSummary?
    public let modelLabel: String?
    public let _count: Counts?

    /// `viewer`: who reads it; only an administrator sees where a system connection points.
    init(_ session: ChatSession, connection: Connection?, messageCount: Int?, viewer: User) {
        self.id = session.id
        self.userId = session.userId
        self.connectionId = session.connectionId
        self.modelRawId = session.modelRawId
        self.title = session.title
        self.createdAt = session.createdAt
        self.reasoningEnabled = session.reasoningEnabled
        self.reasoningEffort = session.reasoningEffort
        self.ollamaThink = session.ollamaThink
        self.systemPrompt = session.systemPrompt
        let revealEndpoint = viewer.role == .admin || connection?.isSystem == false
        self.connection = connection.map {
            ConnectionSummary(id: $0.id, provider: $0.provider, baseUrl: revealEndpoint ? $0.baseUrl : "", prefixId: $0.prefixId)
        }
        self.modelLabel = session.modelRawId
        self._count = messageCount.map(Counts.init(messages:))
    }

    enum Key: String, CodingKey {
        case id, userId, connectionId, modelRawId, title, createdAt, reasoningEnabled, reasoningEffort, ollamaThink, systemPrompt, connection
        case modelLabel, _count
    }

    /// Unset values are written as `null` (as the original did), not left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.userId, forKey: .userId)
        try container.encode(self.connectionId, forKey: .connectionId)
        try container.encode(self.modelRawId, forKey: .modelRawId)
        try container.encode(self.title, forKey: .title)
        try container.encode(self.createdAt, forKey: .createdAt)
        try container.encode(self.reasoningEnabled, forKey: .reasoningEnabled)
        try container.encode(self.reasoningEffort, forKey: .reasoningEffort)
        try container.encode(self.ollamaThink, forKey: .ollamaThink)
        try container.encode(self.systemPrompt, forKey: .systemPrompt)
        try container.encode(self.connection, forKey: .connection)
        try container.encodeIfPresent(self.modelLabel, forKey: .modelLabel)
        try container.encodeIfPresent(self._count, forKey: ._count)
    }
}

public enum MessageRole: String, Sendable, Codable, CaseIterable {
    case user, assistant, system
}

/// What became of an assistant answer: complete (nil), stopped by the user, or cut off by an error.
public enum MessageStatus: String, Sendable, Codable {
    case stopped
    case error
    /// Still being generated: the partial text as of the last checkpoint (``AnswerCheckpoints``). Not listed while its
    /// job runs (watchers get it from the job).
    case streaming
    /// Left streaming by a server that stopped without saving it (killed, power loss): the partial text is kept.
    case interrupted
}

public struct StoredImage: Codable, Sendable, Equatable {
    public var mime: String
    public var data: String
}

/// A message as stored in `messages`.
public struct ChatMessageRecord: Sendable, Equatable {
    public var id: Int
    public var sessionId: Int
    public var role: MessageRole
    public var content: String
    public var clientMessageId: String?
    public var reasoning: String?
    public var reasoningDurationSeconds: Int?
    public var createdAt: Timestamp
    public var status: MessageStatus?
    public var images: [StoredImage]
    /// For an assistant answer: the user message it answers (answers sharing one are versions of each other).
    public var parentId: Int?
    public var model: String?
    /// For an answer: the tokens its request used (from `usage_metrics`), when known.
    public var usage: MessageUsage? = nil
}

/// Token counts of one answer, in the usage endpoints' field names.
public struct MessageUsage: Encodable, Sendable, Equatable {
    public var prompt_tokens: Int
    public var completion_tokens: Int
    public var total_tokens: Int
}

/// The message shape of the API.
public struct MessageDTO: Encodable, Sendable {
    public let id: Int
    public let sessionId: Int
    public let role: MessageRole
    public let content: String
    public let clientMessageId: String?
    public let reasoning: String?
    public let reasoningDurationSeconds: Int?
    public let createdAt: Timestamp
    public let status: MessageStatus?
    public let images: [StoredImage]?
    public let parentId: Int?
    public let model: String?
    public let usage: MessageUsage?

    init(_ message: ChatMessageRecord) {
        self.id = message.id
        self.sessionId = message.sessionId
        self.role = message.role
        self.content = message.content
        self.clientMessageId = message.clientMessageId
        self.reasoning = message.reasoning
        self.reasoningDurationSeconds = message.reasoningDurationSeconds
        self.createdAt = message.createdAt
        self.status = message.status
        self.images = message.images.isEmpty ? nil : message.images
        self.parentId = message.parentId
        self.model = message.model
        self.usage = message.usage
    }

    enum Key: String, CodingKey {
        case id, sessionId, role, content, clientMessageId, reasoning, reasoningDurationSeconds, createdAt, status, images, parentId, model, usage
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.sessionId, forKey: .sessionId)
        try container.encode(self.role, forKey: .role)
        try container.encode(self.content, forKey: .content)
        try container.encodeIfPresent(self.clientMessageId, forKey: .clientMessageId)
        try container.encode(self.reasoning, forKey: .reasoning)
        try container.encode(self.reasoningDurationSeconds, forKey: .reasoningDurationSeconds)
        try container.encode(self.createdAt, forKey: .createdAt)
        try container.encode(self.status, forKey: .status)
        try container.encodeIfPresent(self.images, forKey: .images)
        try container.encode(self.parentId, forKey: .parentId)
        try container.encode(self.model, forKey: .model)
        if self.role == .assistant { try container.encode(self.usage, forKey: .usage) }
    }
}
