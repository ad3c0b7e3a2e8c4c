/// Receives the payloads of a stream, one JSON document at a time.
protocol StreamPayloadHandler: Sendable {
    init()
    /// Handles one payload (an SSE `data` value, or one NDJSON line); returns false, having emitted nothing,
    /// when the payload is not a document it can read.
    mutating func handle(_ payload: ArraySlice<UInt8>, event: String?, into events: inout [ProviderStreamEvent]) throws(ProviderError) -> Bool
    /// Called once after the last payload.
    mutating func finish(into events: inout [ProviderStreamEvent]) throws(ProviderError)
}

extension StreamPayloadHandler {
    mutating func finish(into events: inout [ProviderStreamEvent]) throws(ProviderError) {}
}

/// Cuts a body into payloads (SSE `data` values or NDJSON lines) for a ``StreamPayloadHandler``.
protocol PayloadReader: Sendable {
    init()
    var malformed: Int { get }
    /// The body's lines, fed by ``append(_:)`` and consumed by ``drain(_:into:)``.
    var lines: LineBuffer { get set }
    /// Handles one complete line.
    mutating func process<Handler: StreamPayloadHandler>(
        _ line: ArraySlice<UInt8>, _ handler: inout Handler, _ events: inout [ProviderStreamEvent]
    ) throws(ProviderError)
    mutating func finish<Handler: StreamPayloadHandler>(_ handler: inout Handler, into events: inout [ProviderStreamEvent]) throws(ProviderError)
}

extension PayloadReader {
    mutating func append(_ bytes: some Sequence<UInt8>) {
        self.lines.append(bytes)
    }

    mutating func drain<Handler: StreamPayloadHandler>(
        _ handler: inout Handler, into events: inout [ProviderStreamEvent]
    ) throws(ProviderError) {
        while let line = try self.lines.nextLine() {
            try self.process(line, &handler, &events)
        }
    }
}

/// A provider's stream decoder: its framing (`Reader`) and its payload format (`Payloads`).
struct FramedStreamDecoder<Reader: PayloadReader, Payloads: StreamPayloadHandler>: ProviderStreamDecoder {
    private var reader = Reader()
    private var payloads = Payloads()

    init() {}

    var malformedLines: Int { self.reader.malformed }

    mutating func decode(_ bytes: some Sequence<UInt8>) throws(ProviderError) -> [ProviderStreamEvent] {
        self.reader.append(bytes)
        var events: [ProviderStreamEvent] = []
        try self.reader.drain(&self.payloads, into: &events)
        return events
    }

    mutating func finish() throws(ProviderError) -> [ProviderStreamEvent] {
        var events: [ProviderStreamEvent] = []
        try self.reader.finish(&self.payloads, into: &events)
        return events
    }
}

/// Splits a `text/event-stream` body into `data` payloads, tracking the `event` name they belong to.
///
/// Every provider here sends one JSON document per `data:` line, so each line is handed over at once rather
/// than waiting for the blank line that ends the event. A line that does not parse is kept: the following
/// `data:` lines of the same event are joined to it (the SSE rule for multi-line data), and if they still do
/// not form a document it is counted as malformed and dropped at the end of the event, without losing a
/// following line that parses on its own. `data:` with or without the space is accepted; comments, `id:`
/// and `retry:` are ignored.
struct SSEReader: PayloadReader {
    var lines = LineBuffer()
    private var pendingData: [UInt8]?
    private var eventName: String?
    private(set) var malformed = 0
    /// A multi-line event larger than this is dropped.
    static let eventLimit = 8 * 1024 * 1024

    /// Handles a last line without a line break, ends the current event and tells the handler.
    mutating func finish<Handler: StreamPayloadHandler>(
        _ handler: inout Handler, into events: inout [ProviderStreamEvent]
    ) throws(ProviderError) {
        if let line = self.lines.finish() { try self.process(line, &handler, &events) }
        try self.process([][...], &handler, &events)
        try handler.finish(into: &events)
    }

    mutating func process<Handler: StreamPayloadHandler>(
        _ line: ArraySlice<UInt8>, _ handler: inout Handler, _ events: inout [ProviderStreamEvent]
    ) throws(ProviderError) {
        guard let first = line.first else {
            if self.pendingData != nil {
                self.malformed += 1
                self.pendingData = nil
            }
            self.eventName = nil
            return
        }
        if first == UInt8(ascii: ":") { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = line[line.startIndex..<colon]
        var value = colon < line.endIndex ? line[(colon + 1)...] : line[line.endIndex...]
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if name.elementsEqual("data".utf8) {
            try self.data(value, &handler, &events)
        } else if name.elementsEqual("event".utf8) {
            self.eventName = String(decoding: value, as: UTF8.self)
        }
    }

    private mutating func data<Handler: StreamPayloadHandler>(
        _ value: ArraySlice<UInt8>, _ handler: inout Handler, _ events: inout [ProviderStreamEvent]
    ) throws(ProviderError) {
        guard var joined = self.pendingData else {
            if try !handler.handle(value, event: self.eventName, into: &events) { self.pendingData = Array(value) }
            return
        }
        joined.append(0x0A)
        joined.append(contentsOf: value)
        if try handler.handle(joined[...], event: self.eventName, into: &events) {
            self.pendingData = nil
        } else if try handler.handle(value, event: self.eventName, into: &events) {
            self.malformed += 1
            self.pendingData = nil
        } else if joined.count > Self.eventLimit {
            self.malformed += 1
            self.pendingData = nil
        } else {
            self.pendingData = joined
        }
    }
}

/// Splits a newline-delimited JSON body (Ollama) into one payload per non-blank line.
struct NDJSONReader: PayloadReader {
    var lines = LineBuffer()
    private(set) var malformed = 0

    mutating func finish<Handler: StreamPayloadHandler>(
        _ handler: inout Handler, into events: inout [ProviderStreamEvent]
    ) throws(ProviderError) {
        if let line = self.lines.finish() { try self.process(line, &handler, &events) }
        try handler.finish(into: &events)
    }

    mutating func process<Handler: StreamPayloadHandler>(
        _ line: ArraySlice<UInt8>, _ handler: inout Handler, _ events: inout [ProviderStreamEvent]
    ) throws(ProviderError) {
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        if try !handler.handle(line, event: nil, into: &events) { self.malformed += 1 }
    }
}
