import HummingbirdCore
import NIOCore

/// The HTTP/1.1 server both executables run: a connection that has no request in progress (kept alive between
/// requests, or a client that never finishes sending its request head or body) is closed after `idleTimeout`.
/// A response that is still being written, such as an answer stream, is never cut by it.
public func http1Server(idleTimeoutSeconds: Int) -> HTTPServerBuilder {
    .http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeoutSeconds))))
}
