import AIChatCore
import Foundation
import NIOCore
import NIOPosix

/// Decides whether the server may send a request to a URL (SSRF protection).
///
/// The host is resolved and every address checked, in every spelling (IPv4-mapped, NAT64 and the like are unwrapped
/// first). Cloud metadata endpoints are refused for every connection, system ones included. For personal connections,
/// loopback, private, link-local and other internal ranges are refused too, except the ranges an administrator listed
/// in `personal_connections_allowed_networks`. Guarded requests connect to an address the check allowed and no request
/// follows redirects, so a checked host can neither re-resolve nor bounce the request elsewhere.
public struct OutboundGuard: Sendable {
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { self.reason }
    }

    /// Who the request is for.
    public enum Policy: Sendable {
        /// An administrator's connection: only cloud metadata endpoints are refused.
        case system
        /// A user's connection: internal addresses are refused unless they lie in one of `allowed`.
        case personal(allowed: [IPNetwork])
    }

    static let metadataHosts: Set<String> = ["metadata.google.internal", "metadata", "metadata.azure.internal", "instance-data"]
    /// AWS/GCP/Azure/OpenStack, AWS ECS task credentials, AWS over IPv6, Alibaba Cloud.
    static let metadataAddresses: Set<IPAddress> = Set(
        ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200"].compactMap { IPAddress($0) })

    /// Loopback, private, shared, link-local, benchmarking, multicast, reserved and unspecified ranges.
    static let internalNetworks: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3", "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10",
        "ff00::/8",
    ].compactMap { IPNetwork($0) }

    public init() {}

    /// Resolves `url`'s host and throws ``Refusal`` when any of its addresses is not allowed; returns the addresses.
    @discardableResult
    public func check(_ url: String, policy: Policy) async throws -> [String] {
        guard let components = URLComponents(string: url), let rawHost = components.host, !rawHost.isEmpty else {
            throw Refusal(reason: "the URL has no host")
        }
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if Self.metadataHosts.contains(host) {
            throw Refusal(reason: "cloud metadata addresses are not allowed")
        }
        let addresses = try await Self.resolve(host)
        guard !addresses.isEmpty else {
            // A system connection may name a host only its proxy resolves; the HTTP client reports what happens.
            if case .system = policy { return [] }
            throw Refusal(reason: "the host \(host) does not resolve")
        }
        for address in addresses {
            if address.forms.contains(where: Self.metadataAddresses.contains) {
                throw Refusal(reason: "cloud metadata addresses are not allowed")
            }
            if case .personal(let allowed) = policy, Self.isInternal(address), !allowed.contains(where: { $0.contains(address) }) {
                throw Refusal(reason: "personal connections may not reach private or local network addresses (\(host))")
            }
        }
        return addresses.map(\.connectText)
    }

    static func isInternal(_ address: IPAddress) -> Bool {
        Self.internalNetworks.contains { $0.contains(address) }
    }

    static func isInternal(_ text: String) -> Bool {
        IPAddress(text).map(Self.isInternal) ?? false
    }

    static func resolve(_ host: String) async throws -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        return try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
            defer { freeaddrinfo(first) }
            var addresses: [IPAddress] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor {
                if let sockaddr = info.pointee.ai_addr {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(sockaddr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0,
                        let address = IPAddress(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    {
                        addresses.append(address)
                    }
                }
                cursor = info.pointee.ai_next
            }
            return addresses
        }
    }
}

extension IPAddress {
    /// The text to connect to: an IPv4-mapped address as its IPv4 address, anything else as written by `inet_ntop`.
    var connectText: String {
        if self.bytes.count == 16, self.bytes.prefix(10).allSatisfy({ $0 == 0 }), self.bytes[10] == 0xff, self.bytes[11] == 0xff {
            return IPAddress(bytes: Array(self.bytes.suffix(4)))!.description
        }
        return self.description
    }
}
