import NIOCore
import NIOHTTP1

/// Runs one request at a time on a connection of ``UpstreamClient``: writes the request, hands over the response
/// head, passes the body to its ``UpstreamExchange`` and holds reads back while the reader has enough. After a
/// complete keep-alive response the connection goes back to the pool; anything unexpected closes it.
final class UpstreamExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case idle
        case awaitingHead(EventLoopPromise<UpstreamResponse>, (any UpstreamBodySink)?)
        case body(UpstreamExchange)
        case closed
    }

    private var state = State.idle
    /// Counts exchanges, so that a timer of an earlier one is ignored.
    private var serial = 0
    private var wantsData = true
    private var heldRead = false
    private var keepAlive = true
    private var deadline: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let idleTimeout: TimeAmount
    /// Offers the connection for reuse; false means close it.
    private let release: @Sendable (any Channel) -> Bool

    init(idleTimeout: TimeAmount, release: @escaping @Sendable (any Channel) -> Bool) {
        self.idleTimeout = idleTimeout
        self.release = release
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func start(
        _ head: HTTPRequestHead, body: ByteBuffer?, deadline: NIODeadline, sink: (any UpstreamBodySink)?, promise: EventLoopPromise<UpstreamResponse>
    ) {
        guard case .idle = self.state, let context, context.channel.isActive else {
            promise.fail(UpstreamError.connectionClosed)
            return
        }
        self.idleTimer?.cancel()
        self.idleTimer = nil
        self.serial += 1
        self.state = .awaitingHead(promise, sink)
        self.keepAlive = true
        let serial = self.serial
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.deadline = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.expire(serial) }
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (self.unwrapInboundIn(data), self.state) {
            case (.head(let head), .awaitingHead(let promise, let sink)):
                // Interim answers (100 Continue, 103 Early Hints) precede the real one.
                guard head.status.code >= 200 else { return }
                self.keepAlive = head.isKeepAlive
                let exchange = UpstreamExchange(eventLoop: context.eventLoop, connection: self)
                self.state = .body(exchange)
                // Nothing more is read until the body has a reader.
                self.wantsData = false
                var reader: (any UpstreamBodySink)?
                if let sink, (200..<300).contains(head.status.code) {
                    reader = sink
                    exchange.attach(sink)
                }
                promise.succeed(UpstreamResponse(status: head.status, headers: head.headers, body: UpstreamBody(exchange, taken: reader != nil)))
            case (.body(let bytes), .body(let exchange)):
                if !exchange.receive(bytes) { self.wantsData = false }
            case (.end, .body(let exchange)):
                self.deadline?.cancel()
                self.deadline = nil
                self.state = .idle
                self.resumeReading(context)
                // Back in the pool before the reader sees the end, so the next request can have it at once.
                if self.keepAlive, self.release(context.channel) {
                    let serial = self.serial
                    let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                    self.idleTimer = context.eventLoop.scheduleTask(in: self.idleTimeout) { bound.value.idleExpired(serial) }
                } else {
                    self.close(context)
                }
                exchange.end(nil)
            default:
                // A response nobody asked for: the connection cannot be trusted any more.
                self.fail(UpstreamError.connectionClosed)
                self.close(context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if self.wantsData {
            context.read()
        } else {
            self.heldRead = true
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(UpstreamError.connectionClosed)
        self.idleTimer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error)
        self.close(context)
    }

    /// The body's reader wants more.
    func resumeReading() {
        guard let context else { return }
        self.resumeReading(context)
    }

    /// The body's reader is gone before the end: the rest of the response would block the connection.
    func abandon() {
        guard case .body = self.state, let context else { return }
        self.state = .closed
        self.close(context)
    }

    private func expire(_ serial: Int) {
        guard serial == self.serial, let context else { return }
        self.fail(UpstreamError.deadlineExceeded)
        self.close(context)
    }

    private func idleExpired(_ serial: Int) {
        guard serial == self.serial, case .idle = self.state, let context else { return }
        self.close(context)
    }

    private func resumeReading(_ context: ChannelHandlerContext) {
        self.wantsData = true
        if self.heldRead {
            self.heldRead = false
            context.read()
        }
    }

    private func fail(_ error: any Error) {
        self.deadline?.cancel()
        self.deadline = nil
        switch self.state {
            case .awaitingHead(let promise, _): promise.fail(error)
            case .body(let exchange): exchange.end(error)
            case .idle, .closed: break
        }
        self.state = .closed
    }

    private func close(_ context: ChannelHandlerContext) {
        self.state = .closed
        context.close(promise: nil)
    }
}
