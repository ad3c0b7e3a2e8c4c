/// The API family a connection speaks. Raw values are the names stored in `connections.provider`.
public enum ProviderKind: String, CaseIterable, Sendable, Codable {
    /// OpenAI or any server that implements its Chat Completions API.
    case openai
    case azureOpenAI = "azure_openai"
    /// Ollama's native API (`/api/chat`, NDJSON), not its OpenAI-compatible one.
    case ollama
    case anthropic
    /// Google Gemini (Generative Language API).
    case google
}

/// How requests to a connection are authenticated. Raw values are the names stored in `connections.authType`.
public enum AuthType: String, CaseIterable, Sendable, Codable {
    /// The connection's stored key, in the header the provider expects (not always `Authorization`).
    case bearer
    case none
    /// Kept for compatibility with the original, which accepted it but never sent credentials for it.
    case session
    /// A bearer token from the server's environment (`SYSTEM_OAUTH_TOKEN`).
    case systemOAuth = "system_oauth"
    /// An Azure AD access token from the server's environment (`AZURE_ACCESS_TOKEN`); Azure OpenAI only.
    case microsoftEntraID = "microsoft_entra_id"

    /// Whether requests carry a token of the server's own (from its environment) rather than the connection's key.
    /// Such tokens go only to hosts an administrator configured: system connections.
    public var usesServerToken: Bool { self == .systemOAuth || self == .microsoftEntraID }
}
