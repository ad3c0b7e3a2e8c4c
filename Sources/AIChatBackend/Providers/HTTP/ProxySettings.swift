import AIChatCore
import AsyncHTTPClient
import Foundation

/// The outbound proxy for provider requests, as the environment names it: `HTTPS_PROXY` for `https` URLs,
/// `HTTP_PROXY` for `http` ones (the lower-case spellings too), and `NO_PROXY` for the hosts reached directly.
///
/// `NO_PROXY` is a comma-separated list of host names, domain suffixes (`example.com` and `.example.com` both match
/// `api.example.com`), and IP addresses (no ranges), each optionally with `:port`; `*` turns the proxy off for every host.
struct ProxySettings: Sendable, Equatable {
    struct Server: Sendable, Equatable {
        var host: String
        var port: Int
        var username: String?
        var password: String?

        var proxy: HTTPClient.Configuration.Proxy {
            if let username {
                return .server(host: self.host, port: self.port, authorization: .basic(username: username, password: self.password ?? ""))
            }
            return .server(host: self.host, port: self.port)
        }
    }

    var https: Server?
    var http: Server?
    var noProxy: [String] = []

    init(https: Server? = nil, http: Server? = nil, noProxy: [String] = []) {
        self.https = https
        self.http = http
        self.noProxy = noProxy
    }

    init(env: EnvironmentValues) throws {
        func value(_ name: String) -> String? { env.string(name) ?? env.string(name.lowercased()) }
        self.https = try value("HTTPS_PROXY").map { try Self.server($0, variable: "HTTPS_PROXY") }
        self.http = try value("HTTP_PROXY").map { try Self.server($0, variable: "HTTP_PROXY") }
        self.noProxy = (value("NO_PROXY") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }

    /// `http://[user:password@]host[:port]` (port 80 by default). The proxy itself is spoken to in plain HTTP; an
    /// `https` URL goes through it in a `CONNECT` tunnel, so TLS still runs end to end with the provider.
    static func server(_ text: String, variable: String) throws -> Server {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let url = URLComponents(string: withScheme), let host = url.host, !host.isEmpty,
            url.scheme == "http" || url.scheme == "https"
        else {
            throw ConfigurationError(variable: variable, value: text, accepted: "http://[user:password@]host[:port]")
        }
        return Server(
            host: host, port: url.port ?? 80, username: url.user?.removingPercentEncoding,
            password: url.password?.removingPercentEncoding
        )
    }

    /// The proxy a request to `url` goes through; nil: directly.
    func server(for url: URL) -> Server? {
        guard let host = url.host?.lowercased() else { return nil }
        let server = url.scheme?.lowercased() == "https" ? self.https : self.http
        guard let server, !self.bypasses(host: host, port: url.port) else { return nil }
        return server
    }

    func bypasses(host rawHost: String, port: Int?) -> Bool {
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for entry in self.noProxy {
            if entry == "*" { return true }
            var name = entry
            if let colon = entry.lastIndex(of: ":"), !entry.hasPrefix("["), entry.filter({ $0 == ":" }).count == 1 {
                guard let wanted = Int(entry[entry.index(after: colon)...]), wanted == port else { continue }
                name = String(entry[..<colon])
            }
            name = name.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            if name.hasPrefix(".") { name.removeFirst() }
            if host == name || host.hasSuffix("." + name) { return true }
        }
        return false
    }
}
