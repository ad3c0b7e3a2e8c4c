import NIOCore
import NIOPosix

/// A TCP server on 127.0.0.1 that answers every connection with fixed bytes once the request has arrived, then
/// closes it: for responses no HTTP framework would write (broken framing, cut streams).
enum RawServer {
    final class Reply: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes: [UInt8]

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // Any request bytes are taken as the whole request: the reply is fixed. No reply: the connection stays silent.
            guard !self.bytes.isEmpty else { return }
            let channel = context.channel
            context.writeAndFlush(NIOAny(channel.allocator.buffer(bytes: self.bytes))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    static func run<T>(answering response: String, _ body: (_ baseURL: String) async throws -> T) async throws -> T {
        try await Self.run(answering: Array(response.utf8), body)
    }

    static func run<T>(answering bytes: [UInt8], _ body: (_ baseURL: String) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reply(bytes)) } }
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
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(closed: closed)) } }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(channel.allocator.buffer(string: request))
        let timeout = group.any().scheduleTask(in: .nanoseconds(Int64(limit.components.seconds) * 1_000_000_000)) { channel.close(promise: nil) }
        let received = try await closed.futureResult.get()
        let after = started.duration(to: .now)
        timeout.cancel()
        return after < limit ? (received, after) : nil
    }
}
