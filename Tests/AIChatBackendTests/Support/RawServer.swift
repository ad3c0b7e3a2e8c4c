import NIOCore
import NIOPosix
import Synchronization

/// A TCP server on 127.0.0.1 that answers every connection with fixed bytes once the request has arrived, then
/// closes it: for responses no HTTP framework would write (broken framing, cut streams, no answer at all).
enum RawServer {
    /// How many requests (reads that begin with a request line) arrived, by server port.
    private static let counts = Mutex<[Int: Int]>([:])

    /// How many requests the server at `baseURL` received.
    static func requests(to baseURL: String) -> Int {
        let port = Int(baseURL.split(separator: ":").last ?? "") ?? 0
        return Self.counts.withLock { $0[port] ?? 0 }
    }

    final class Reply: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes: [UInt8]
        let closeWithoutAnswer: Bool

        init(_ bytes: [UInt8], closeWithoutAnswer: Bool) {
            self.bytes = bytes
            self.closeWithoutAnswer = closeWithoutAnswer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: self.unwrapInboundIn(data))
            if text.hasPrefix("POST ") || text.hasPrefix("GET "), let port = context.channel.localAddress?.port {
                RawServer.counts.withLock { $0[port, default: 0] += 1 }
            }
            let channel = context.channel
            if self.closeWithoutAnswer {
                channel.close(promise: nil)
                return
            }
            // Any request bytes are taken as the whole request: the reply is fixed. No reply: the connection stays silent.
            guard !self.bytes.isEmpty else { return }
            context.writeAndFlush(NIOAny(channel.allocator.buffer(bytes: self.bytes))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    static func run<T>(answering response: String, _ body: (_ baseURL: String) async throws -> T) async throws -> T {
        try await Self.run(answering: Array(response.utf8), body)
    }

    /// A server that reads each request and closes the connection without a byte of answer.
    static func run<T>(closingAfterTheRequest body: (_ baseURL: String) async throws -> T) async throws -> T {
        try await Self.run(answering: [], closeWithoutAnswer: true, body)
    }

    static func run<T>(answering bytes: [UInt8], closeWithoutAnswer: Bool = false, _ body: (_ baseURL: String) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Reply(bytes, closeWithoutAnswer: closeWithoutAnswer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await body("http://127.0.0.1:\(channel.localAddress?.port ?? 0)")
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// A TCP client that sends fixed bytes and reports what came back and when the server closed the connection.
enum RawClient {
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var received = ""
        let closed: EventLoopPromise<String>

        init(closed: EventLoopPromise<String>) { self.closed = closed }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.received += String(buffer: self.unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.closed.succeed(self.received)
        }
    }

    /// Sends `request`, then waits until the server closes the connection (nil when it is still open after `limit`).
    static func sendAndAwaitClose(port: Int, _ request: String, limit: Duration) async throws -> (received: String, after: Duration)? {
        let group = MultiThreadedEventLoopGroup.singleton
        let closed = group.any().makePromise(of: String.self)
        let started = ContinuousClock.now
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(closed: closed)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(channel.allocator.buffer(string: request))
        let timeout = group.any().scheduleTask(in: .nanoseconds(Int64(limit.components.seconds) * 1_000_000_000)) { channel.close(promise: nil) }
        let received = try await closed.futureResult.get()
        let after = started.duration(to: .now)
        timeout.cancel()
        return after < limit ? (received, after) : nil
    }

    /// Sends `request` and returns what came back within `wait` (then closes the connection).
    static func sendAndCollect(port: Int, _ request: String, for wait: Duration) async throws -> String {
        let group = MultiThreadedEventLoopGroup.singleton
        let closed = group.any().makePromise(of: String.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(closed: closed)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(channel.allocator.buffer(string: request))
        try await Task.sleep(for: wait)
        try? await channel.close()
        return try await closed.futureResult.get()
    }
}
