import AIChatCore
import Foundation
import Synchronization

/// Turns a connection and a provider-neutral request into the HTTP request each provider expects.
///
/// Pure: no networking. Credentials go only into headers, never into URLs (a Gemini key in a `?key=` query
/// would end up in proxy logs and error messages). Header order: content type, accept, auth, provider
/// headers, then the connection's extra headers, which replace any earlier header of the same name.
public struct ProviderRequestBuilder: Sendable {
    public static let defaultAzureAPIVersion = "2024-10-21"
    public static let anthropicVersion = "2023-06-01"
    /// Anthropic requires `max_tokens`; this is sent when the options leave it open.
    public static let anthropicDefaultMaxTokens = 8192

    public let endpoint: ProviderEndpoint

    public init(_ endpoint: ProviderEndpoint) {
        self.endpoint = endpoint
    }

    /// A chat request; `stream` selects the provider's streaming form and the matching response format.
    public func chat(_ messages: [ChatMessage], options: GenerationOptions, stream: Bool) throws(ProviderError) -> ProviderHTTPRequest {
        let model = options.model.trimmingCharacters(in: .whitespaces)
        guard !model.isEmpty else { throw .invalidRequest("no model selected") }
        var options = options
        options.model = model
        if let temperature = options.temperature, !temperature.isFinite { options.temperature = nil }
        let base = try self.base()
        let url: String
        let body: JSONValue
        var format: ProviderHTTPRequest.ResponseFormat = stream ? .serverSentEvents : .json
        switch self.endpoint.kind {
            case .openai:
                url = base + "/chat/completions"
                body = OpenAIRequestBody.make(messages, options: options, stream: stream)
            case .azureOpenAI:
                url =
                    Self.azureRoot(base) + "/openai/deployments/" + Self.pathSegment(model) + "/chat/completions?api-version="
                    + Self.queryValue(self.azureVersion)
                body = OpenAIRequestBody.make(messages, options: options, stream: stream)
            case .ollama:
                url = base + "/api/chat"
                body = OllamaRequestBody.make(messages, options: options, stream: stream)
                format = stream ? .ndjson : .json
            case .anthropic:
                url = Self.anthropicRoot(base) + "/messages"
                body = AnthropicRequestBody.make(messages, options: options, stream: stream)
            case .google:
                let method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent"
                url = Self.geminiRoot(base) + "/" + Self.geminiModelPath(model) + method
                body = GeminiRequestBody.make(messages, options: options)
        }
        return ProviderHTTPRequest(
            method: .post, url: url, headers: try self.headers(format: format, hasBody: true), body: try Self.encode(body),
            responseFormat: format
        )
    }

    /// The provider's model list; parse the answer with ``ProviderResponseParser/models(kind:body:)``.
    public func listModels() throws(ProviderError) -> ProviderHTTPRequest {
        let base = try self.base()
        let url: String
        switch self.endpoint.kind {
            case .openai: url = base + "/models"
            case .azureOpenAI: url = Self.azureRoot(base) + "/openai/models?api-version=" + Self.queryValue(self.azureVersion)
            case .ollama: url = base + "/api/tags"
            case .anthropic: url = Self.anthropicRoot(base) + "/models?limit=1000"
            case .google: url = Self.geminiRoot(base) + "/models?pageSize=1000"
        }
        return ProviderHTTPRequest(method: .get, url: url, headers: try self.headers(format: .json, hasBody: false), responseFormat: .json)
    }

    /// A cheap authenticated request whose 2xx answer means the connection works.
    public func verify() throws(ProviderError) -> ProviderHTTPRequest {
        guard self.endpoint.kind == .ollama else { return try self.listModels() }
        return ProviderHTTPRequest(
            method: .get, url: try self.base() + "/api/version", headers: try self.headers(format: .json, hasBody: false), responseFormat: .json
        )
    }

    // MARK: URLs

    var azureVersion: String {
        let version = self.endpoint.azureAPIVersion?.trimmingCharacters(in: .whitespaces) ?? ""
        return version.isEmpty ? Self.defaultAzureAPIVersion : version
    }

    /// The base URL without trailing slashes, checked to be an absolute http(s) URL without query or fragment.
    func base() throws(ProviderError) -> String {
        let base = self.endpoint.trimmedBaseURL
        guard Self.checkedBases.isValid(base) else { throw .invalidBaseURL }
        return base
    }

    /// Whether `base` can start a provider URL: http or https with a host, no query, fragment or spaces.
    static func isValidBase(_ base: String) -> Bool {
        guard !base.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" }),
            base.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }),
            let components = URLComponents(string: base),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// Every request checks its base URL, and parsing one takes longer than the rest of building the request: the
    /// verdicts are kept (a few connections' worth).
    static let checkedBases = CheckedBases()

    final class CheckedBases: Sendable {
        private let verdicts = Mutex<[String: Bool]>([:])

        func isValid(_ base: String) -> Bool {
            if let known = self.verdicts.withLock({ $0[base] }) { return known }
            let verdict = ProviderRequestBuilder.isValidBase(base)
            self.verdicts.withLock { verdicts in
                if verdicts.count >= 256 { verdicts.removeAll(keepingCapacity: true) }
                verdicts[base] = verdict
            }
            return verdict
        }
    }

    /// Users paste the resource URL with or without `/openai`; the paths below add it.
    static func azureRoot(_ base: String) -> String {
        base.lowercased().hasSuffix("/openai") ? String(base.dropLast("/openai".count)) : base
    }

    /// `{base}/v1`, without doubling a `/v1` the base already ends with.
    static func anthropicRoot(_ base: String) -> String {
        base.hasSuffix("/v1") ? base : base + "/v1"
    }

    /// `{base}/v1beta`, keeping an API version the base already names.
    static func geminiRoot(_ base: String) -> String {
        base.hasSuffix("/v1beta") || base.hasSuffix("/v1") ? base : base + "/v1beta"
    }

    /// `models/<id>` (a listed `models/…` or `tunedModels/…` name is kept as it is), each segment escaped.
    static func geminiModelPath(_ model: String) -> String {
        let segments = model.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments.count == 2, segments[0] == "models" || segments[0] == "tunedModels" {
            return segments[0] + "/" + Self.pathSegment(segments[1])
        }
        return "models/" + Self.pathSegment(model)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters, so a model id can never add a path
    /// segment, a query or a fragment.
    static func pathSegment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ""
    }

    static func queryValue(_ value: String) -> String { Self.pathSegment(value) }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    // MARK: Headers

    /// Headers that describe the message framing; letting a connection override them would corrupt requests.
    static let reservedHeaders: Set<String> = [
        "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection",
    ]

    func headers(format: ProviderHTTPRequest.ResponseFormat, hasBody: Bool) throws(ProviderError) -> [(name: String, value: String)] {
        var list = HeaderList()
        if hasBody { list.set("Content-Type", "application/json") }
        switch format {
            case .json: list.set("Accept", "application/json")
            case .serverSentEvents: list.set("Accept", "text/event-stream")
            case .ndjson: list.set("Accept", "application/x-ndjson")
        }
        if let (name, value) = try self.authHeader() { list.set(name, value) }
        if self.endpoint.kind == .anthropic { list.set("anthropic-version", Self.anthropicVersion) }
        for name in self.endpoint.extraHeaders.keys.sorted() where !Self.reservedHeaders.contains(name.lowercased()) {
            list.set(name, self.endpoint.extraHeaders[name] ?? "")
        }
        return try list.validated()
    }

    /// The credential header for the connection's auth type, in the provider's own header.
    func authHeader() throws(ProviderError) -> (String, String)? {
        let endpoint = self.endpoint
        switch endpoint.authType {
            case .bearer:
                guard let key = try Self.credential(endpoint.apiKey) else { return nil }
                switch endpoint.kind {
                    case .openai, .ollama: return ("Authorization", "Bearer " + key)
                    case .azureOpenAI: return ("api-key", key)
                    case .anthropic: return ("x-api-key", key)
                    case .google: return ("x-goog-api-key", key)
                }
            case .systemOAuth:
                guard let token = try Self.credential(endpoint.systemOAuthToken) else { return nil }
                return ("Authorization", "Bearer " + token)
            case .microsoftEntraID:
                guard endpoint.kind == .azureOpenAI, let token = try Self.credential(endpoint.azureAccessToken) else { return nil }
                return ("Authorization", "Bearer " + token)
            case .none, .session:
                return nil
        }
    }

    /// A key without the whitespace a paste tends to add; nil when empty. Control characters are refused
    /// here, with an error that does not name the value.
    static func credential(_ raw: String?) throws(ProviderError) -> String? {
        guard let value = raw?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        guard HeaderList.isSafeValue(value) else { throw .invalidCredential }
        return value
    }

    // MARK: Body

    static func encode(_ body: JSONValue) throws(ProviderError) -> Data {
        let buffer = body.encoded(sortedKeys: true)
        return Data(buffer.readableBytesView)
    }
}
