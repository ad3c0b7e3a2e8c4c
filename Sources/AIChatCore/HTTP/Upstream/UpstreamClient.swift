import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL

/// Why a request to an upstream server failed, apart from socket and TLS errors (passed on as NIO reports them)
/// and malformed responses (`HTTPParserError`).
public enum UpstreamError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not an `http` or `https` URL with a host, or it holds characters a request line cannot carry.
    case invalidURL
    /// No connection within the connect timeout.
    case connectTimeout
    /// The request's deadline passed before the response was complete.
    case deadlineExceeded
    /// The server closed the connection before the response was complete.
    case connectionClosed
    /// A body collected with ``UpstreamBody/collect(upTo:)`` was longer than its limit.
    case bodyTooLarge
    /// A body is read once.
    case bodyAlreadyRead

    public var description: String {
        switch self {
            case .invalidURL: "invalid URL"
            case .connectTimeout: "connect timeout"
            case .deadlineExceeded: "deadline exceeded"
            case .connectionClosed: "connection closed before the response was complete"
            case .bodyTooLarge: "response body too large"
            case .bodyAlreadyRead: "response body already read"
        }
    }
}

/// A request for ``UpstreamClient``.
public struct UpstreamRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    /// The IP address to connect to instead of resolving the URL's host (one an outbound check allowed); `Host`
    /// and the TLS server name stay the URL's, so the request still reaches the named site — at that address.
    public var address: String?

    public init(method: HTTPMethod = .GET, url: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil, address: String? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.address = address
    }
}

/// The head of a response; the body arrives as it is read from the connection.
public struct UpstreamResponse: Sendable {
    public let status: HTTPResponseStatus
    public let headers: HTTPHeaders
    public let body: UpstreamBody
}

/// An HTTP/1.1 client for requests to AI providers: keep-alive connections pooled per destination, TLS with
/// certificate and host name checks, gzip/deflate answers decoded, no redirects followed, a connect timeout and a
/// deadline per request, and response bodies streamed with back-pressure.
///
/// Each request costs one hop to the connection's event loop and one back when the head arrives; the body's pieces
/// reach an async reader through a bounded buffer, or an ``UpstreamBodySink`` directly on the event loop.
public final class UpstreamClient: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: TimeAmount = .seconds(10)
        /// How long an unused connection stays open for the next request.
        public var idleTimeout: TimeAmount = .seconds(60)
        /// Unused connections kept per destination; more are closed.
        public var maxIdlePerDestination = 256
        /// Compressed answers are decoded up to this ratio; nil: no `Accept-Encoding` is sent.
        public var decompressionLimit: NIOHTTPDecompression.DecompressionLimit? = .ratio(50)
        public var tls: TLSConfiguration = .makeClientConfiguration()

        public init() {}
    }

    let group: any EventLoopGroup
    let configuration: Configuration
    let pool: UpstreamPool
    private let tlsContext = NIOLockedValueBox<NIOSSLContext?>(nil)

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, configuration: Configuration = .init()) {
        self.group = group
        self.configuration = configuration
        self.pool = UpstreamPool(maxIdlePerDestination: configuration.maxIdlePerDestination)
    }

    /// Sends `request` and returns once the response head has arrived. The deadline covers the whole exchange,
    /// body included; cancelling the calling task closes the connection.
    ///
    /// With a `sink`, the body of a successful (2xx) response goes to it from the moment the head arrives, before
    /// this call returns; the returned body is then taken. Other responses' bodies are returned unread.
    public func execute(_ request: UpstreamRequest, deadline: NIODeadline, sink: (any UpstreamBodySink)? = nil) async throws -> UpstreamResponse {
        let target = try UpstreamTarget(request.url)
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: target.path, headers: request.headers)
        if !head.headers.contains(name: "host") { head.headers.add(name: "Host", value: target.hostHeader) }
        if let body = request.body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if [.POST, .PUT, .PATCH].contains(request.method) {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        let key = target.poolKey(address: request.address)
        // A caller running on an event loop gets a connection of that loop: its writes need no hand-off.
        let loop = MultiThreadedEventLoopGroup.currentEventLoop
        // A pooled connection may have been closed by the server a moment ago; such a request never reached the
        // server's application, so it goes out again on another connection.
        for _ in 0..<4 {
            guard let channel = self.pool.take(key, preferring: loop) else { break }
            do {
                return try await Self.exchange(on: channel, head: head, body: request.body, deadline: deadline, sink: sink)
            } catch UpstreamError.connectionClosed where !Task.isCancelled {
                continue
            }
        }
        try Task.checkCancellation()
        let channel = try await self.connect(target, address: request.address, key: key, deadline: deadline, on: loop)
        return try await Self.exchange(on: channel, head: head, body: request.body, deadline: deadline, sink: sink)
    }

    /// Closes the unused connections; connections in use close when their exchange ends.
    public func shutdown() async {
        let idle = self.pool.shutdown()
        for channel in idle { try? await channel.close() }
    }

    private static func exchange(
        on channel: any Channel, head: HTTPRequestHead, body: ByteBuffer?, deadline: NIODeadline, sink: (any UpstreamBodySink)?
    ) async throws -> UpstreamResponse {
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        let sink = UnsafeTransfer(sink)
        do {
            return try await withTaskCancellationHandler {
                let start = {
                    guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamExchangeHandler.self) else {
                        promise.fail(UpstreamError.connectionClosed)
                        return
                    }
                    handler.start(head, body: body, deadline: deadline, sink: sink.value, promise: promise)
                }
                if channel.eventLoop.inEventLoop { start() } else { channel.eventLoop.execute(start) }
                return try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    private func connect(
        _ target: UpstreamTarget, address: String?, key: String, deadline: NIODeadline, on loop: (any EventLoop)?
    ) async throws -> any Channel {
        let tls = target.secure ? try self.makeTLSContext() : nil
        let pool = self.pool
        let configuration = self.configuration
        let remaining = deadline - .now()
        guard remaining > .zero else { throw UpstreamError.deadlineExceeded }
        let bootstrap = ClientBootstrap(group: loop ?? self.group)
            .connectTimeout(min(configuration.connectTimeout, remaining))
            // A TCP-level option: `.socketOption(.tcp_nodelay)` would set SOL_SOCKET's SO_DEBUG (same number), which an
            // unprivileged process may not set, so every connect failed outside root.
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Streamed answers arrive in small pieces; the buffer grows when a response comes in larger ones.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: target.isAddressLiteral ? nil : target.host))
                    }
                    try pipeline.addHTTPClientHandlers()
                    if let limit = configuration.decompressionLimit {
                        try pipeline.addHandler(NIOHTTPResponseDecompressor(limit: limit))
                    }
                    try pipeline.addHandler(
                        UpstreamExchangeHandler(idleTimeout: configuration.idleTimeout) { channel in pool.put(channel, key: key) }
                    )
                }
            }
        let channel: any Channel
        do {
            if let address {
                channel = try await bootstrap.connect(to: SocketAddress(ipAddress: address, port: target.port)).get()
            } else {
                channel = try await bootstrap.connect(host: target.host, port: target.port).get()
            }
        } catch ChannelError.connectTimeout {
            throw UpstreamError.connectTimeout
        }
        channel.closeFuture.whenComplete { _ in pool.remove(channel, key: key) }
        return channel
    }

    /// The TLS context, made on first use (it loads the system's trust roots).
    private func makeTLSContext() throws -> NIOSSLContext {
        try self.tlsContext.withLockedValue { context in
            if let context { return context }
            let made = try NIOSSLContext(configuration: self.configuration.tls)
            context = made
            return made
        }
    }
}

/// Unused connections by destination, most recently used last.
final class UpstreamPool: Sendable {
    private struct State {
        var idle: [String: [any Channel]] = [:]
        var closed = false
    }

    private let state = NIOLockedValueBox(State())
    let maxIdlePerDestination: Int

    init(maxIdlePerDestination: Int) {
        self.maxIdlePerDestination = maxIdlePerDestination
    }

    /// The most recently used open connection for `key`, one of `loop`'s when there is one.
    func take(_ key: String, preferring loop: (any EventLoop)? = nil) -> (any Channel)? {
        self.state.withLockedValue { state in
            guard var idle = state.idle[key] else { return nil }
            defer { state.idle[key] = idle.isEmpty ? nil : idle }
            idle.removeAll { !$0.isActive }
            if let loop, let index = idle.lastIndex(where: { $0.eventLoop === loop }) {
                return idle.remove(at: index)
            }
            return idle.popLast()
        }
    }

    /// Keeps `channel` for the next request; false when it should be closed instead.
    func put(_ channel: any Channel, key: String) -> Bool {
        self.state.withLockedValue { state in
            guard !state.closed, state.idle[key, default: []].count < self.maxIdlePerDestination else { return false }
            state.idle[key, default: []].append(channel)
            return true
        }
    }

    func remove(_ channel: any Channel, key: String) {
        self.state.withLockedValue { state in
            state.idle[key]?.removeAll { $0 === channel }
            if state.idle[key]?.isEmpty == true { state.idle[key] = nil }
        }
    }

    func count(_ key: String) -> Int {
        self.state.withLockedValue { $0.idle[key]?.count ?? 0 }
    }

    func shutdown() -> [any Channel] {
        self.state.withLockedValue { state in
            state.closed = true
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0 }
        }
    }
}
