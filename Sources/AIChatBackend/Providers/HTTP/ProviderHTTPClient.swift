import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The HTTP clients that provider requests go through (AsyncHTTPClient): redirects are never followed, each
/// destination has a bounded keep-alive pool, compressed answers are decoded, and the proxy the environment names
/// is used (``ProxySettings``).
///
/// A personal connection's request connects to the address the outbound guard checked, so that a name resolving
/// elsewhere a moment later (DNS rebinding) cannot turn it inward. AsyncHTTPClient pins a name to an address per
/// client (`dnsOverride`; `Host` and the certificate check keep the name), so such requests use a client per
/// (name, address), kept for the next request while the cache has room. Through a proxy the proxy resolves the name.
final class ProviderHTTPClient: Sendable {
    struct Settings: Sendable {
        /// Also how long a request may wait for a free connection of a full pool.
        var connectTimeout: TimeAmount = .seconds(10)
        /// Connections per destination; an answer stream holds one for as long as it runs (HTTP/1.1), so this bounds
        /// the answers streaming from one provider at once (HTTP/2 providers share connections).
        var maxConnectionsPerHost = 2048
        var idleTimeout: TimeAmount = .seconds(60)
        var proxy = ProxySettings()
        /// Trust settings (tests add their own authority); nil: the system's trust roots.
        var tls: TLSConfiguration?
    }

    /// A response and the lease on the client it came from; ``close()`` once the body is read or dropped.
    struct Response: Sendable {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: HTTPClientResponse.Body
        fileprivate let lease: Lease?

        func close() { self.lease?.release() }
    }

    private let settings: Settings
    private let direct: HTTPClient
    private let viaHTTPSProxy: HTTPClient?
    private let viaHTTPProxy: HTTPClient?
    private let pinned = Mutex(PinnedClients())
    /// Clients pinned to an address kept for reuse; beyond this, unused ones are shut down, oldest first.
    static let pinnedClientLimit = 32

    init(settings: Settings = Settings()) {
        self.settings = settings
        self.direct = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(settings))
        self.viaHTTPSProxy = settings.proxy.https.map {
            HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(settings, proxy: $0))
        }
        self.viaHTTPProxy = settings.proxy.http.map {
            HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(settings, proxy: $0))
        }
    }

    static func configuration(
        _ settings: Settings, proxy: ProxySettings.Server? = nil, pin: (host: String, address: String)? = nil
    )
        -> HTTPClient.Configuration
    {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: settings.tls, redirectConfiguration: .disallow, timeout: .init(connect: settings.connectTimeout),
            connectionPool: .init(idleTimeout: settings.idleTimeout, concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maxConnectionsPerHost),
            proxy: proxy?.proxy, decompression: .enabled(limit: .ratio(50))
        )
        if let pin { configuration.dnsOverride = [pin.host: pin.address] }
        return configuration
    }

    /// Sends `request` and returns once the response head has arrived; `address`, when given, is where the request
    /// connects (unless a proxy is used). The deadline covers the whole exchange, body included; cancelling the
    /// calling task cancels the request.
    func execute(_ request: HTTPClientRequest, connectingTo address: String?, deadline: NIODeadline, logger: Logger) async throws -> Response {
        let (client, lease) = try self.client(for: request.url, address: address)
        do {
            let response = try await client.execute(request, deadline: deadline, logger: logger)
            return Response(status: response.status, headers: response.headers, body: response.body, lease: lease)
        } catch {
            lease?.release()
            throw error
        }
    }

    private func client(for urlText: String, address: String?) throws -> (HTTPClient, Lease?) {
        guard let url = URL(string: urlText), let host = url.host, !host.isEmpty else { throw HTTPClientError.invalidURL }
        if let server = self.settings.proxy.server(for: url) {
            return ((server == self.settings.proxy.https ? self.viaHTTPSProxy : self.viaHTTPProxy) ?? self.direct, nil)
        }
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard let address, address != name else { return (self.direct, nil) }
        let key = name + " " + address
        let (client, retired) = self.pinned.withLock { pinned in
            pinned.lease(key) {
                HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(self.settings, pin: (name, address)))
            }
        }
        for old in retired { Task { try? await old.shutdown() } }
        return (client, Lease(key: key, owner: self))
    }

    fileprivate func release(_ key: String) {
        let retired = self.pinned.withLock { $0.release(key) }
        for old in retired { Task { try? await old.shutdown() } }
    }

    func shutdown() async {
        let clients = [self.direct] + [self.viaHTTPSProxy, self.viaHTTPProxy].compactMap { $0 } + self.pinned.withLock { $0.removeAll() }
        for client in clients { try? await client.shutdown() }
    }

    /// Marks a pinned client as in use until released (once).
    final class Lease: Sendable {
        let key: String
        let owner: ProviderHTTPClient
        private let released = Atomic(false)

        init(key: String, owner: ProviderHTTPClient) {
            self.key = key
            self.owner = owner
        }

        func release() {
            guard !self.released.exchange(true, ordering: .relaxed) else { return }
            self.owner.release(self.key)
        }
    }
}

/// The clients pinned to an address, with how many requests use each and when each was last used.
struct PinnedClients {
    private var entries: [String: (client: HTTPClient, inUse: Int, lastUsed: ContinuousClock.Instant)] = [:]

    /// The client for `key` (made when missing), counted as in use; returns clients to shut down.
    mutating func lease(_ key: String, make: () -> HTTPClient) -> (HTTPClient, [HTTPClient]) {
        var entry = self.entries[key] ?? (make(), 0, .now)
        entry.inUse += 1
        entry.lastUsed = .now
        self.entries[key] = entry
        return (entry.client, self.trim())
    }

    mutating func release(_ key: String) -> [HTTPClient] {
        self.entries[key]?.inUse -= 1
        return self.trim()
    }

    mutating func removeAll() -> [HTTPClient] {
        defer { self.entries = [:] }
        return self.entries.values.map(\.client)
    }

    /// Unused clients beyond the limit, oldest first, removed.
    private mutating func trim() -> [HTTPClient] {
        let excess = self.entries.count - ProviderHTTPClient.pinnedClientLimit
        guard excess > 0 else { return [] }
        let unused = self.entries.filter { $0.value.inUse <= 0 }.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(excess)
        for (key, _) in unused { self.entries[key] = nil }
        return unused.map(\.value.client)
    }
}
