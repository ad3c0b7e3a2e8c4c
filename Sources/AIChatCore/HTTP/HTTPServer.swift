import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP/1.1 server the frontend runs (Hummingbird's HTTP/1 channel, a task per connection), answering with
/// `responder`; the backend, which holds thousands of answer streams open, runs `eventLoopHTTP1Server`.
///
/// A connection that has no request in progress (kept alive between requests, or a client that never finishes
/// sending its request head or body) is closed after `idleTimeoutSeconds`; a response that is still being
/// written, such as an answer stream, is never cut by it.
///
/// Each request is answered by a short closure of our own rather than the application's: a connection's task keeps
/// the memory of its deepest call chain for as long as the connection lives (for an answer stream, the whole
/// answer), and the application's closure adds two frames and a task-local logger binding to every connection.
/// What it did is kept: the request's logger carries a request id, an error that escapes the responder becomes an
/// empty 500, and responses carry `Date` and `Server` headers.
public func http1Server<Base: HTTPResponder>(
    idleTimeoutSeconds: Int, responder: ChildTaskResponder<Base>, serverName: String?, logger: Logger
) -> HTTPServerBuilder where Base.Context: RequestContext, Base.Context.Source == ApplicationRequestContextSource {
    let configuration = HTTP1Channel.Configuration(
        additionalChannelHandlers: [ReceiveBufferSizing()], idleTimeout: .seconds(Int64(idleTimeoutSeconds))
    )
    return HTTPServerBuilder { _ in
        HTTP1Channel(
            responder: { request, writer, channel in
                let response: Response
                do {
                    response = try await responder.serve(request, channel: channel, logger: logger, serverName: serverName)
                } catch let error as HTTPParserError {
                    throw error
                } catch {
                    logger.debug("unhandled error: \(error)")
                    response = ChildTaskResponder<Base>.stamped(Response(status: .internalServerError), serverName: serverName)
                }
                try await writeResponse(response, to: writer)
            },
            configuration: configuration
        )
    }
}

/// Writes `response`; kept out of line so that the connection's own frame stays small.
@inline(never)
func writeResponse(_ response: Response, to writer: consuming ResponseWriter) async throws {
    do {
        try await writer.write(response: response.head, body: response.body)
    } catch is HTTPParserError {
        // Another response must not be written for it: close the connection instead.
        throw CancellationError()
    }
}

/// The current time as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), formatted at most once a second.
public enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func now() -> String {
        let second = time(nil)
        return self.cache.withLock { cache in
            if cache.second != second {
                cache = (second, Self.format(second))
            }
            return cache.text
        }
    }

    public static func format(_ seconds: Int) -> String {
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(Self.days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(Self.months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
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
