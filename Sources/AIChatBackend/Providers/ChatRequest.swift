/// An image sent with a message: the MIME type and the Base64 payload without any `data:` prefix.
public struct ImageAttachment: Sendable, Equatable {
    public var mime: String
    public var base64Data: String

    public init(mime: String, base64Data: String) {
        self.mime = mime
        self.base64Data = base64Data
    }

    /// The `data:` URL form used by OpenAI-style APIs.
    var dataURL: String { "data:\(self.mime);base64,\(self.base64Data)" }
}

/// One turn of the conversation in a provider-neutral form; each provider's builder turns it into its own shape.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        case system
        case user
        case assistant
    }

    public var role: Role
    public var text: String
    public var images: [ImageAttachment]

    public init(role: Role, text: String, images: [ImageAttachment] = []) {
        self.role = role
        self.text = text
        self.images = images
    }

    /// Whether the text has anything but whitespace: several APIs reject empty text parts.
    var hasText: Bool { !self.text.allSatisfy(\.isWhitespace) }
}

/// What to ask of the model, after the request → session → setting → default precedence has been applied.
public struct GenerationOptions: Sendable, Equatable {
    /// The provider's own model id (for Azure, the deployment name).
    public var model: String
    /// nil leaves the provider's default: reasoning models reject anything but their default.
    public var temperature: Double?
    /// Whether to ask for reasoning (`reasoning_effort`, `think`, `thinking`, `thinkingConfig`).
    public var reasoningEnabled: Bool
    public var reasoningEffort: ReasoningEffort?
    /// Ollama only: send `think: true` when reasoning is enabled.
    public var ollamaThink: Bool
    /// An output limit; Anthropic requires one and gets a default when this is nil.
    public var maxTokens: Int?

    public init(
        model: String, temperature: Double? = nil, reasoningEnabled: Bool = false, reasoningEffort: ReasoningEffort? = nil,
        ollamaThink: Bool = false, maxTokens: Int? = nil
    ) {
        self.model = model
        self.temperature = temperature
        self.reasoningEnabled = reasoningEnabled
        self.reasoningEffort = reasoningEffort
        self.ollamaThink = ollamaThink
        self.maxTokens = maxTokens
    }
}
