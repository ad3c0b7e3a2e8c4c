import Foundation
import NIOCore
import NIOPosix

/// Decides whether the server may send a request to a user-supplied URL (SSRF protection).
///
/// The host is resolved and every address checked: cloud metadata endpoints are always refused; loopback,
/// private, link-local and other internal ranges are refused unless `allowPrivate` (an admin setting for
/// personal connections). Requests made after a check connect to an address the check allowed and do not follow
/// redirects, so a checked host can neither re-resolve nor bounce the request elsewhere.
public struct OutboundGuard: Sendable {
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { self.reason }
    }

    static let metadataHosts: Set<String> = ["metadata.google.internal", "metadata", "metadata.azure.internal", "instance-data"]
    static let metadataAddresses: Set<String> = ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200"]

    public init() {}

    /// Resolves `url`'s host and throws ``Refusal`` when any of its addresses is not allowed; returns the addresses.
    @discardableResult
    public func check(_ url: String, allowPrivate: Bool) async throws -> [String] {
        guard let components = URLComponents(string: url), let rawHost = components.host, !rawHost.isEmpty else {
            throw Refusal(reason: "the URL has no host")
        }
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if Self.metadataHosts.contains(host) {
            throw Refusal(reason: "cloud metadata addresses are not allowed")
        }
        let addresses = try await Self.resolve(host)
        guard !addresses.isEmpty else { throw Refusal(reason: "the host \(host) does not resolve") }
        for address in addresses {
            if Self.metadataAddresses.contains(address) {
                throw Refusal(reason: "cloud metadata addresses are not allowed")
            }
            if !allowPrivate, Self.isInternal(address) {
                throw Refusal(reason: "personal connections may not reach private or local network addresses (\(host))")
            }
        }
        return addresses
    }

    static func resolve(_ host: String) async throws -> [String] {
        if Self.parseIPv4(host) != nil || host.contains(":") { return [Self.canonical(host)] }
        return try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
            defer { freeaddrinfo(first) }
            var addresses: [String] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor {
                if let sockaddr = info.pointee.ai_addr {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(sockaddr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                        addresses.append(Self.canonical(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
                    }
                }
                cursor = info.pointee.ai_next
            }
            return addresses
        }
    }

    /// Lower-cased IPv6 text without a zone, IPv4-mapped addresses as plain IPv4.
    static func canonical(_ address: String) -> String {
        var text = address.lowercased()
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        if text.hasPrefix("::ffff:"), Self.parseIPv4(String(text.dropFirst(7))) != nil { return String(text.dropFirst(7)) }
        return text
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// Loopback, private, shared, link-local, multicast and unspecified ranges (IPv4 and IPv6).
    static func isInternal(_ address: String) -> Bool {
        if let b = Self.parseIPv4(address) {
            switch (b[0], b[1]) {
                case (0, _), (10, _), (127, _): return true
                case (100, 64...127): return true
                case (169, 254): return true
                case (172, 16...31): return true
                case (192, 168): return true
                case (192, 0) where b[2] == 0: return true
                case (198, 18...19): return true
                case (224...255, _): return true
                default: return false
            }
        }
        let text = Self.canonical(address)
        if text == "::" || text == "::1" { return true }
        guard let first = text.split(separator: ":", omittingEmptySubsequences: false).first, let head = UInt16(first, radix: 16) else {
            return text.hasPrefix("::")
        }
        if head & 0xfe00 == 0xfc00 { return true }  // unique local fc00::/7
        if head & 0xffc0 == 0xfe80 { return true }  // link-local fe80::/10
        if head & 0xff00 == 0xff00 { return true }  // multicast
        return false
    }
}
