import HummingbirdCore
import NIOCore

/// The HTTP/1.1 server both executables run: a connection that has no request in progress (kept alive between
/// requests, or a client that never finishes sending its request head or body) is closed after `idleTimeout`.
/// A response that is still being written, such as an answer stream, is never cut by it.
public func http1Server(idleTimeoutSeconds: Int) -> HTTPServerBuilder {
    .http1(configuration: .init(additionalChannelHandlers: [ReceiveBufferSizing()], idleTimeout: .seconds(Int64(idleTimeoutSeconds))))
}

/// Starts each accepted connection with a 512-byte receive buffer instead of 2 KiB, then leaves the pipeline.
///
/// A connection keeps its receive buffer between reads, and an answer stream's connection reads one small request
/// and then only writes for as long as the answer runs: with thousands of open streams the default size is some
/// 3 MB held for nothing. The buffer still grows at once for clients that send more.
final class ReceiveBufferSizing: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    static let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    func handlerAdded(context: ChannelHandlerContext) {
        _ = context.channel.setOption(ChannelOptions.recvAllocator, value: Self.allocator)
        if context.channel.isActive { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
