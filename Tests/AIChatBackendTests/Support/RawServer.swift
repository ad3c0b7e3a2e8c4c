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
            // Any request bytes are taken as the whole request: the reply is fixed.
            let buffer = context.channel.allocator.buffer(bytes: self.bytes)
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in context.close(promise: nil) }
        }
    }

    static func run<T>(answering response: String, _ body: (_ baseURL: String) async throws -> T) async throws -> T {
        let bytes = Array(response.utf8)
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
