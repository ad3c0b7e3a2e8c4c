import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Per-request state: the authenticated user (set by ``RequireUserMiddleware``) and the peer address.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var user: User?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.user = nil
    }

    /// The signed-in user; routes behind ``RequireUserMiddleware`` always have one.
    public func requireUser() throws -> User {
        guard let user = self.user else { throw APIError.unauthorized("Missing or invalid authorization header") }
        return user
    }

    /// The client's address: the peer, or, when the peer is a proxy on a private or loopback address (the
    /// frontend container), the last hop that proxy recorded in `X-Forwarded-For`.
    public func clientAddress(_ request: Request) -> String {
        let peer = self.remoteAddress?.ipAddress ?? "unknown"
        guard Self.isPrivate(peer), let forwarded = request.headers[.xForwardedFor] else { return peer }
        let last = forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return last.isEmpty ? peer : last
    }

    static func isPrivate(_ address: String) -> Bool {
        if address == "::1" || address.hasPrefix("127.") || address.hasPrefix("10.") || address.hasPrefix("192.168.") { return true }
        if address.lowercased().hasPrefix("fd") || address.lowercased().hasPrefix("fc") { return true }
        if address.hasPrefix("::ffff:") { return self.isPrivate(String(address.dropFirst(7))) }
        if address.hasPrefix("172.") {
            let second = address.split(separator: ".").dropFirst().first.flatMap { Int($0) } ?? 0
            return (16...31).contains(second)
        }
        return false
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
}
