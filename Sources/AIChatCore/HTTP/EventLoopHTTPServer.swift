import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Synchronization

/// An HTTP/1.1 server whose connections are served by a channel handler on their event loop, with no task per
/// connection.
///
/// Hummingbird's own HTTP/1 channel gives every connection a task that lives as long as the connection: a
/// kept-alive browser connection or an answer that streams for a minute holds that task's memory (some 8 KB with
/// its async channel) the whole time. Here a request runs in a task of its own that starts when the request has
/// arrived and ends when its response is written; a body that is pushed (``PushedResponseBody``, an answer
/// stream) is written by the handler itself, so while an answer streams no task exists for its connection.
///
/// Request bodies are read whole before the responder runs, up to `maxBodyBytes`; a larger one reaches the
/// responder as a body that fails with 413, and the connection closes after the response (a client that sends
/// `Expect: 100-continue` is told to go ahead unless its declared length is already too large). Requests on one
/// connection are answered in order: while a response is being written the connection is not read from.
/// Connections without a request in progress close after `idleTimeoutSeconds` and when the server shuts down;
/// ``OpenConnections/waitUntilClosed(within:)`` waits for the others.
public func eventLoopHTTP1Server<Responder: HTTPResponder>(
    idleTimeoutSeconds: Int, maxBodyBytes: Int, responder: Responder, serverName: String?, connections: OpenConnections, logger: Logger
) -> HTTPServerBuilder where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    let shared = HTTPConnectionHandler<Responder>.Shared(
        responder: responder, serverName: serverName, maxBodyBytes: maxBodyBytes, logger: logger
    )
    return HTTPServerBuilder { _ in
        EventLoopHTTP1Channel(shared: shared, idleTimeout: .seconds(Int64(idleTimeoutSeconds)), connections: connections)
    }
}

/// The connections a server has open, so that a shutdown can wait for their responses to be written.
public final class OpenConnections: Sendable {
    private let open = Atomic<Int>(0)

    public init() {}

    public var count: Int { self.open.load(ordering: .relaxed) }

    func opened(_ channel: any Channel) {
        self.open.add(1, ordering: .relaxed)
        channel.closeFuture.whenComplete { _ in self.open.subtract(1, ordering: .relaxed) }
    }

    /// Returns when no connection is open, or after `limit` (checked every 50 ms: this is for shutting down).
    public func waitUntilClosed(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while self.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// A response body written by its producer from the connection's event loop, instead of by a task.
///
/// The server calls every method on the connection's event loop.
public protocol PushedResponseBody: AnyObject, Sendable {
    /// The head is written: from now on `output` takes the body, until ``PushedBodyOutput/finish()``.
    func start(_ output: PushedBodyOutput)
    /// The connection can take more (after ``PushedBodyOutput/isWritable`` was false).
    func resumeWriting()
    /// The connection closed before the body was finished.
    func connectionClosed()
}

/// Where a ``PushedResponseBody`` writes; used on the connection's event loop only.
public struct PushedBodyOutput: @unchecked Sendable {
    fileprivate let writeBody: (ByteBuffer) -> Void
    fileprivate let end: () -> Void
    fileprivate let writable: () -> Bool

    /// Writes and flushes `buffer`.
    public func write(_ buffer: ByteBuffer) { self.writeBody(buffer) }
    /// Ends the response.
    public func finish() { self.end() }
    /// False when the client is not reading fast enough: wait for ``PushedResponseBody/resumeWriting()``.
    public var isWritable: Bool { self.writable() }
}

/// How a responder hands the server a body to push: set for the request's task while the responder runs, when
/// the server can take one. Other servers (and tests that call the router directly) write the response's own body.
public final class PushedBodySlot: Sendable {
    @TaskLocal public static var current: PushedBodySlot?

    private let body = Mutex<(any PushedResponseBody)?>(nil)

    init() {}

    /// Offers `body` in place of the response's own body.
    public func offer(_ body: any PushedResponseBody) {
        self.body.withLock { $0 = body }
    }

    func take() -> (any PushedResponseBody)? {
        self.body.withLock { body in
            defer { body = nil }
            return body
        }
    }
}

struct EventLoopHTTP1Channel<Responder: HTTPResponder>: ServerChildChannel
where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    struct Value: ServerChildChannelValue {
        let channel: any Channel
    }

    let shared: HTTPConnectionHandler<Responder>.Shared
    let idleTimeout: TimeAmount
    let connections: OpenConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(ReceiveBufferSizing())
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: .init(self.idleTimeout), logger: logger))
            try pipeline.addHandler(HTTPConnectionHandler(shared: self.shared))
            self.connections.opened(channel)
            return Value(channel: channel)
        }
    }

    /// Nothing to do: the connection's handler serves it.
    func handle(value: Value, logger: Logger) async {}
}

/// Serves one connection: gathers a request, runs the responder in a task on the connection's event loop, writes
/// the response, then takes the next request.
final class HTTPConnectionHandler<Responder: HTTPResponder>: ChannelDuplexHandler, RemovableChannelHandler
where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What all connections of a server share.
    struct Shared: Sendable {
        let responder: Responder
        let serverName: String?
        let maxBodyBytes: Int
        let logger: Logger
    }

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Gathering a request's body (in ``body``).
        case receiving(HTTPRequest)
        /// A response is on its way; `keepAlive` is false when the connection closes after it.
        case responding(keepAlive: Bool)
        case closed
    }

    private let shared: Shared
    private var state = State.idle
    /// The body of the request being received, kept apart from the state so that it grows in place.
    private var body: ByteBuffer?
    /// Parts of requests that arrived while a response was being written (pipelining).
    private var queued: [HTTPRequestPart] = []
    /// A read the pipeline asked for while a response was being written.
    private var readHeld = false
    /// The rest of an oversized request's body, which is dropped.
    private var discardingBody = false
    private var pushed: (any PushedResponseBody)?
    private var writabilityWaiters: [CheckedContinuation<Void, any Error>] = []
    private var context: ChannelHandlerContext?

    init(shared: Shared) {
        self.shared = shared
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // (HTTPConnectionStateHandler, ahead in the pipeline, does not pass `channelInactive` on.)
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.channel.closeFuture.whenComplete { _ in connection.value.closed() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if self.discardingBody {
            if case .end = part { self.discardingBody = false }
        } else if case .responding = self.state {
            self.queued.append(part)
        } else {
            self.receive(part, context: context)
        }
    }

    private func receive(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (self.state, part) {
        case (.idle, .head(let head)):
            if let declared = head.headerFields[.contentLength].flatMap(Int.init), declared > self.shared.maxBodyBytes {
                // Answered (413) at once; the connection closes after the response.
                self.discardingBody = true
                self.dispatch(head, body: RequestBody(asyncSequence: OversizedBody()), keepAlive: false, context: context)
                return
            }
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                // The client waits for a go-ahead before it sends the body.
                context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            self.state = .receiving(head)
        case (.receiving(let head), .body(let chunk)):
            if (self.body?.readableBytes ?? 0) + chunk.readableBytes > self.shared.maxBodyBytes {
                // Answered (413) without reading the rest; the connection closes after the response.
                self.body = nil
                self.discardingBody = true
                self.dispatch(head, body: RequestBody(asyncSequence: OversizedBody()), keepAlive: false, context: context)
                return
            }
            if self.body == nil {
                self.body = chunk
            } else {
                self.body!.writeImmutableBuffer(chunk)
            }
        case (.receiving(let head), .end):
            let keepAlive = head.headerFields[.connection]?.lowercased() != "close"
            let body = self.body ?? ByteBuffer()
            self.body = nil
            self.dispatch(head, body: RequestBody(buffer: body), keepAlive: keepAlive, context: context)
        case (.closed, _):
            break
        case (.idle, _), (.receiving, .head), (.responding, _):
            self.state = .closed
            context.close(promise: nil)
        }
    }

    /// Runs the responder for a request in a task on this connection's event loop.
    private func dispatch(_ head: HTTPRequest, body: RequestBody, keepAlive: Bool, context: ChannelHandlerContext) {
        self.state = .responding(keepAlive: keepAlive)
        let request = Request(head: head, body: body)
        let channel = context.channel
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        Self.start(request, channel: channel, connection: connection, shared: self.shared)
    }

    private static func start(_ request: Request, channel: any Channel, connection: NIOLoopBound<HTTPConnectionHandler>, shared: Shared) {
        Task(executorPreference: EventLoopTaskExecutor.on(connection.eventLoop)) {
            await Self.serve(request, channel: channel, connection: connection, shared: shared)
        }
    }

    /// The request's task: the response, then its body written (or handed to the connection to push).
    private static func serve(_ request: Request, channel: any Channel, connection: NIOLoopBound<HTTPConnectionHandler>, shared: Shared) async {
        let slot = PushedBodySlot()
        let response = await PushedBodySlot.$current.withValue(slot) {
            await Self.respond(to: request, channel: channel, shared: shared)
        }
        if let body = slot.take() {
            connection.eventLoop.execute { connection.value.push(head: response.head, body: body) }
            return
        }
        let writer = ConnectionBodyWriter(connection: connection, head: response.head, contentLength: response.body.contentLength)
        do {
            try await response.body.write(writer)
        } catch {
            // The client went away, or the body failed part way: the connection cannot carry on.
            connection.eventLoop.execute { connection.value.abandon() }
        }
    }

    /// The responder's response with the server's headers; an error that escapes it is an empty 500.
    private static func respond(to request: Request, channel: any Channel, shared: Shared) async -> Response {
        var logger = shared.logger
        logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let context = Responder.Context(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        var response: Response
        do {
            response = try await shared.responder.respond(to: request, context: context)
        } catch {
            logger.debug("unhandled error: \(error)")
            response = Response(status: .internalServerError)
        }
        response.headers[.date] = HTTPDate.now()
        if let serverName = shared.serverName { response.headers[.server] = serverName }
        return response
    }

    // MARK: Writing (on the event loop)

    fileprivate func write(_ part: HTTPResponsePart, flush: Bool) throws {
        guard let context = self.context, case .responding = self.state else { throw ChannelError.ioOnClosedChannel }
        if flush {
            context.writeAndFlush(self.wrapOutboundOut(part), promise: nil)
        } else {
            context.write(self.wrapOutboundOut(part), promise: nil)
        }
    }

    fileprivate var isWritable: Bool { self.context?.channel.isWritable ?? false }

    fileprivate func waitUntilWritable() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            guard self.context != nil, case .responding = self.state else {
                continuation.resume(throwing: ChannelError.ioOnClosedChannel)
                return
            }
            if self.isWritable {
                continuation.resume()
            } else {
                self.writabilityWaiters.append(continuation)
            }
        }
    }

    /// The response is written: the connection closes or takes the next request.
    fileprivate func ended() {
        guard let context = self.context, case .responding(let keepAlive) = self.state else { return }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        guard keepAlive else {
            self.state = .closed
            context.close(promise: nil)
            return
        }
        self.state = .idle
        while !self.queued.isEmpty {
            if case .responding = self.state { return }
            self.receive(self.queued.removeFirst(), context: context)
        }
        if case .responding = self.state { return }
        if self.readHeld {
            self.readHeld = false
            context.read()
        }
    }

    /// A response could not be finished: the client gets no more on this connection.
    fileprivate func abandon() {
        guard case .responding = self.state else { return }
        self.state = .closed
        self.context?.close(promise: nil)
    }

    private func push(head: HTTPResponse, body: any PushedResponseBody) {
        guard let context = self.context, case .responding = self.state else {
            body.connectionClosed()
            return
        }
        self.pushed = body
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        // Weak: a producer may keep its output past the connection's end.
        let output = PushedBodyOutput(
            writeBody: { [weak self] buffer in try? self?.write(.body(buffer), flush: true) },
            end: { [weak self] in
                self?.pushed = nil
                self?.ended()
            },
            writable: { [weak self] in self?.isWritable ?? false }
        )
        body.start(output)
        context.flush()
    }

    // MARK: Channel events

    func read(context: ChannelHandlerContext) {
        if case .responding = self.state {
            self.readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            let waiters = self.writabilityWaiters
            self.writabilityWaiters = []
            for waiter in waiters { waiter.resume() }
            self.pushed?.resumeWriting()
        }
        context.fireChannelWritabilityChanged()
    }

    private func closed() {
        self.state = .closed
        let waiters = self.writabilityWaiters
        self.writabilityWaiters = []
        for waiter in waiters { waiter.resume(throwing: ChannelError.ioOnClosedChannel) }
        let pushed = self.pushed
        self.pushed = nil
        pushed?.connectionClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        var answered = false
        switch self.state {
        case .idle, .receiving: answered = false
        case .responding, .closed: answered = true
        }
        if error is HTTPParserError, !answered {
            // A malformed request: answered with 400, then the connection closes.
            let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
        self.state = .closed
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client sent all it will: close once no response is on its way.
            switch self.state {
            case .responding(keepAlive: true): self.state = .responding(keepAlive: false)
            case .responding(keepAlive: false): break
            default:
                self.state = .closed
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Writes a response from the request's task: the head goes out with the first part of the body, and a body of
/// known length that arrives in one piece leaves in one flush together with the end.
struct ConnectionBodyWriter<Responder: HTTPResponder>: ResponseBodyWriter
where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    let connection: NIOLoopBound<HTTPConnectionHandler<Responder>>
    var head: HTTPResponse?
    let contentLength: Int?
    var written = 0

    init(connection: NIOLoopBound<HTTPConnectionHandler<Responder>>, head: HTTPResponse, contentLength: Int?) {
        self.connection = connection
        self.head = head
        self.contentLength = contentLength
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        let head = self.head
        self.head = nil
        self.written += buffer.readableBytes
        // The whole body of a known length: flushed with the end.
        let flush = self.contentLength != self.written
        let mustWait = try await self.onLoop { connection in
            if let head { try connection.write(.head(head), flush: false) }
            try connection.write(.body(buffer), flush: flush)
            return !connection.isWritable
        }
        if mustWait {
            let connection = self.connection
            try await self.onLoopAsync { try await connection.value.waitUntilWritable() }
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let head = self.head
        _ = try await self.onLoop { connection in
            if let head { try connection.write(.head(head), flush: false) }
            connection.ended()
            return false
        }
    }

    /// Runs `body` with the handler on its event loop (where the request's task normally already is).
    private func onLoop(_ body: @escaping (HTTPConnectionHandler<Responder>) throws -> Bool) async throws -> Bool {
        let connection = self.connection
        if connection.eventLoop.inEventLoop { return try body(connection.value) }
        let unchecked = UnsafeTransfer(body)
        return try await connection.eventLoop.submit { try unchecked.value(connection.value) }.get()
    }

    private func onLoopAsync(_ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(EventLoopTaskExecutor.on(self.connection.eventLoop)) {
            try await body()
        }
    }
}

/// A request body over the server's limit: reading it fails as Hummingbird's own limit does (413).
private struct OversizedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    struct AsyncIterator: AsyncIteratorProtocol {
        mutating func next() async throws -> ByteBuffer? {
            throw HTTPError(.contentTooLarge)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}
