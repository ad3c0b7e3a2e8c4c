import NIOConcurrencyHelpers
import NIOCore

/// What a body reader tells the connection after each piece.
public enum UpstreamSinkDecision: Sendable {
    /// Keep reading.
    case more
    /// Stop reading until ``UpstreamBody/resume()``.
    case pause
    /// Done with this body: the connection is closed and the sink hears nothing more.
    case stop
}

/// Receives a response body on the connection's event loop, without a task waiting for it: a reader that only
/// transforms and forwards the pieces costs no task memory while a long answer streams.
public protocol UpstreamBodySink: AnyObject {
    /// One piece of the body.
    func receive(_ piece: ByteBuffer) -> UpstreamSinkDecision
    /// The end of the body: nil after a complete body, else why it broke off (``UpstreamError``, `HTTPParserError`,
    /// `CancellationError` after ``UpstreamBody/cancel()``).
    func finish(_ error: (any Error)?)
}

/// A response body: read it as an async sequence of pieces, collect it, or hand it to an ``UpstreamBodySink``;
/// once, either way. Until then the connection is not read further. Dropping the body unread, or cancelling
/// its reader before the end, closes the connection.
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ProducerDelegate
    >

    let handle: Handle

    init(_ exchange: UpstreamExchange, taken: Bool = false) {
        self.handle = Handle(exchange, attached: taken)
    }

    /// Hands the body to `sink`; its calls arrive on the connection's event loop.
    public func stream(to sink: any UpstreamBodySink) {
        self.handle.attach(sink)
    }

    /// Ends the body early: the connection is closed and a sink's `finish` gets a `CancellationError` (unless the
    /// body had ended already).
    public func cancel() {
        let exchange = self.handle.exchange
        exchange.eventLoop.execute { exchange.cancel() }
    }

    /// Lets a sink that paused receive again.
    public func resume() {
        let exchange = self.handle.exchange
        exchange.eventLoop.execute { exchange.resume() }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handle: Handle
        var inner: Producer.AsyncIterator?

        public mutating func next() async throws -> ByteBuffer? {
            if self.inner == nil {
                let sequence = Producer.makeSequence(
                    backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16), finishOnDeinit: false,
                    delegate: ProducerDelegate(exchange: self.handle.exchange)
                )
                self.handle.attach(ProducerSink(sequence.source))
                self.inner = sequence.sequence.makeAsyncIterator()
            }
            return try await self.inner?.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: self.handle)
    }

    /// The whole body in one buffer; throws ``UpstreamError/bodyTooLarge`` past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await var piece in self {
            guard collected.readableBytes + piece.readableBytes <= limit else { throw UpstreamError.bodyTooLarge }
            collected.writeBuffer(&piece)
        }
        return collected
    }

    /// The reader's end of an exchange: attaches at most once; dropped unattached, it gives the exchange up.
    final class Handle: Sendable {
        let exchange: UpstreamExchange
        private let attached: NIOLockedValueBox<Bool>

        init(_ exchange: UpstreamExchange, attached: Bool) {
            self.exchange = exchange
            self.attached = NIOLockedValueBox(attached)
        }

        func attach(_ sink: any UpstreamBodySink) {
            let first = self.attached.withLockedValue { attached in
                defer { attached = true }
                return !attached
            }
            let exchange = self.exchange
            let box = UnsafeTransfer(sink)
            exchange.eventLoop.execute {
                if first {
                    exchange.attach(box.value)
                } else {
                    box.value.finish(UpstreamError.bodyAlreadyRead)
                }
            }
        }

        deinit {
            guard !self.attached.withLockedValue({ $0 }) else { return }
            let exchange = self.exchange
            exchange.eventLoop.execute { exchange.abandon() }
        }
    }

    /// Feeds an async sequence from the event loop.
    final class ProducerSink: UpstreamBodySink {
        let source: Producer.Source

        init(_ source: Producer.Source) {
            self.source = source
        }

        func receive(_ piece: ByteBuffer) -> UpstreamSinkDecision {
            switch self.source.yield(piece) {
                case .produceMore: .more
                case .stopProducing: .pause
                case .dropped: .stop
            }
        }

        func finish(_ error: (any Error)?) {
            if let error { self.source.finish(error) } else { self.source.finish() }
        }
    }

    struct ProducerDelegate: NIOAsyncSequenceProducerDelegate {
        let exchange: UpstreamExchange

        func produceMore() {
            let exchange = self.exchange
            exchange.eventLoop.execute { exchange.resume() }
        }

        func didTerminate() {
            let exchange = self.exchange
            exchange.eventLoop.execute { exchange.abandon() }
        }
    }
}

/// Moves a value that is used on one event loop only across the hop to it.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}

/// One response's body between the connection and its reader, on the connection's event loop: pieces that
/// arrive while there is no reader yet, or while the reader has paused, wait here (the connection is not read
/// meanwhile), and the body's end is kept for the reader even after the connection went back to the pool.
final class UpstreamExchange: @unchecked Sendable {
    let eventLoop: any EventLoop
    /// The connection while the response is still arriving.
    private var connection: UpstreamExchangeHandler?
    private var pending: [ByteBuffer] = []
    private var outcome: (any Error)??
    private var sink: (any UpstreamBodySink)?
    private var paused = true
    private var done = false

    init(eventLoop: any EventLoop, connection: UpstreamExchangeHandler) {
        self.eventLoop = eventLoop
        self.connection = connection
    }

    /// Whether the reader still wants pieces (false: the connection should stop reading for now).
    func receive(_ piece: ByteBuffer) -> Bool {
        guard !self.done else { return false }
        guard !self.paused, let sink = self.sink else {
            self.pending.append(piece)
            return false
        }
        return self.deliver(piece, to: sink)
    }

    /// The response ended (nil) or broke off; the connection is no longer this exchange's.
    func end(_ error: (any Error)?) {
        self.connection = nil
        guard !self.done else { return }
        self.outcome = .some(error)
        self.flush()
    }

    func attach(_ sink: any UpstreamBodySink) {
        guard !self.done else {
            sink.finish(CancellationError())
            return
        }
        self.sink = sink
        self.resume()
    }

    /// The reader wants more: what waits is delivered, then the connection is read again.
    func resume() {
        guard !self.done, self.sink != nil else { return }
        self.paused = false
        self.flush()
        if !self.paused, !self.done { self.connection?.resumeReading() }
    }

    /// The reader is gone without reading to the end.
    func abandon() {
        guard !self.done else { return }
        self.done = true
        self.sink = nil
        self.pending = []
        self.connection?.abandon()
        self.connection = nil
    }

    func cancel() {
        guard !self.done else { return }
        let sink = self.sink
        self.abandon()
        sink?.finish(CancellationError())
    }

    /// Delivers waiting pieces until the reader pauses, and the end once nothing waits.
    private func flush() {
        guard let sink = self.sink else { return }
        while !self.paused, !self.done, !self.pending.isEmpty {
            let piece = self.pending.removeFirst()
            _ = self.deliver(piece, to: sink)
        }
        guard !self.paused, !self.done, self.pending.isEmpty, let outcome = self.outcome else { return }
        self.done = true
        self.sink = nil
        sink.finish(outcome)
    }

    private func deliver(_ piece: ByteBuffer, to sink: any UpstreamBodySink) -> Bool {
        switch sink.receive(piece) {
            case .more:
                return true
            case .pause:
                self.paused = true
                return false
            case .stop:
                self.abandon()
                return false
        }
    }
}
