import Foundation

/// Where and how to reach one connection: everything a request builder needs, with the key already decrypted.
///
/// Its descriptions never show the key or tokens, so it can be logged or interpolated safely.
public struct ProviderEndpoint: Sendable {
    public var kind: ProviderKind
    /// The connection's base URL; trailing slashes are ignored.
    public var baseURL: String
    public var authType: AuthType
    /// The decrypted key, used with ``AuthType/bearer``.
    public var apiKey: String?
    /// The connection's own headers, applied last so they can override any other header.
    public var extraHeaders: [String: String]
    /// Azure only; ``ProviderRequestBuilder/defaultAzureAPIVersion`` when nil or empty.
    public var azureAPIVersion: String?
    /// The server-wide token for ``AuthType/systemOAuth``.
    public var systemOAuthToken: String?
    /// The server-wide token for ``AuthType/microsoftEntraID``.
    public var azureAccessToken: String?

    public init(
        kind: ProviderKind, baseURL: String, authType: AuthType = .bearer, apiKey: String? = nil, extraHeaders: [String: String] = [:],
        azureAPIVersion: String? = nil, systemOAuthToken: String? = nil, azureAccessToken: String? = nil
    ) {
        self.kind = kind
        self.baseURL = baseURL
        self.authType = authType
        self.apiKey = apiKey
        self.extraHeaders = extraHeaders
        self.azureAPIVersion = azureAPIVersion
        self.systemOAuthToken = systemOAuthToken
        self.azureAccessToken = azureAccessToken
    }

    /// The base URL without trailing slashes.
    var trimmedBaseURL: String {
        var url = Substring(self.baseURL.trimmingCharacters(in: .whitespaces))
        while url.hasSuffix("/") { url = url.dropLast() }
        return String(url)
    }
}

extension ProviderEndpoint: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        let key = (self.apiKey?.isEmpty ?? true) ? "none" : "set"
        return "ProviderEndpoint(\(self.kind.rawValue), \(self.trimmedBaseURL), auth: \(self.authType.rawValue), key: \(key), "
            + "extra headers: \(self.extraHeaders.keys.sorted()))"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": self.description], displayStyle: .struct)
    }
}
