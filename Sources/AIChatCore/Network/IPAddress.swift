#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes, so that every spelling of one address (`::ffff:a9fe:a9fe`,
/// `0:0:0:0:0:ffff:169.254.169.254`, `fd00:0ec2::0254`) compares equal once parsed.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses numeric text (`[...]` brackets and an IPv6 zone such as `%eth0` are ignored); nil for anything else.
    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        let plain = String(text)
        if plain.contains(":") {
            var storage = in6_addr()
            guard inet_pton(AF_INET6, plain, &storage) == 1 else { return nil }
            self.bytes = withUnsafeBytes(of: &storage) { Array($0) }
        } else {
            // Dotted quads only: inet_pton refuses the shorthand forms (`127.1`, `0x7f.1`) that some resolvers accept.
            var storage = in_addr()
            guard inet_pton(AF_INET, plain, &storage) == 1 else { return nil }
            self.bytes = withUnsafeBytes(of: &storage) { Array($0) }
        }
    }

    public var isIPv4: Bool { self.bytes.count == 4 }

    /// The IPv4 address an IPv6 one carries: IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible (`::/96`, but not `::`
    /// or `::1`) and the NAT64 well-known prefix (`64:ff9b::/96`) all reach that IPv4 host.
    public var embeddedIPv4: IPAddress? {
        guard self.bytes.count == 16 else { return nil }
        let head = self.bytes.prefix(12)
        let tail = Array(self.bytes.suffix(4))
        let mapped = head.prefix(10).allSatisfy { $0 == 0 } && head.suffix(2) == [0xff, 0xff]
        let compatible = head.allSatisfy { $0 == 0 } && tail.prefix(3) != [0, 0, 0]
        let nat64 = Array(head) == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
        return mapped || compatible || nat64 ? IPAddress(bytes: tail) : nil
    }

    /// The address itself and the IPv4 address it carries, if any: what a rule about addresses must look at.
    public var forms: [IPAddress] { [self] + (self.embeddedIPv4.map { [$0] } ?? []) }

    public var description: String {
        if self.isIPv4 { return self.bytes.map(String.init).joined(separator: ".") }
        var storage = in6_addr()
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: self.bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &storage, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a range of one.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let base: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPAddress(String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            length = value
        }
        self.base = IPAddress(bytes: Self.masked(address.bytes, length))!
        self.prefixLength = length
    }

    /// Whether `address` (or the IPv4 address it carries) lies in this range.
    public func contains(_ address: IPAddress) -> Bool {
        address.forms.contains { form in
            form.bytes.count == self.base.bytes.count && Self.masked(form.bytes, self.prefixLength) == self.base.bytes
        }
    }

    public var description: String { "\(self.base)/\(self.prefixLength)" }

    static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = max(0, min(8, length - index * 8))
            return keep == 8 ? byte : byte & ~(UInt8(0xff) >> keep)
        }
    }

    /// A list written as CIDRs separated by commas or whitespace; throws naming the first entry that is not one.
    public static func list(_ text: String) throws(InvalidNetwork) -> [IPNetwork] {
        var networks: [IPNetwork] = []
        for entry in text.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            guard let network = IPNetwork(String(entry)) else { throw InvalidNetwork(entry: String(entry)) }
            if !networks.contains(network) { networks.append(network) }
        }
        return networks
    }

    public struct InvalidNetwork: Error, CustomStringConvertible {
        public let entry: String
        public var description: String { "\"\(self.entry.prefix(60))\" is not an address or CIDR range such as 10.0.0.0/8" }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
