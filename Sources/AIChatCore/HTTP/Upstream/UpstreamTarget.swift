/// An `http` or `https` URL taken apart for sending: where to connect, what to name in `Host` and the TLS
/// handshake, and the request target.
struct UpstreamTarget: Sendable, Equatable {
    var secure: Bool
    /// The host without IPv6 brackets.
    var host: String
    var port: Int
    /// Path and query, at least `/`; the fragment is dropped.
    var path: String
    /// The `Host` header: the host as written (brackets kept) and the port unless it is the scheme's default.
    var hostHeader: String
    /// Whether the host is an IP address (no name to send for TLS server name indication).
    var isAddressLiteral: Bool

    init(_ url: String) throws(UpstreamError) {
        // Request lines and headers allow visible ASCII only; anything else must arrive percent-encoded.
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidURL }
        let bytes = Array(url.utf8)
        guard let separator = Self.find(Array("://".utf8), in: bytes) else { throw .invalidURL }
        switch String(decoding: bytes[..<separator], as: UTF8.self).lowercased() {
            case "http": self.secure = false
            case "https": self.secure = true
            default: throw .invalidURL
        }
        let authorityStart = separator + 3
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, !"/?#".utf8.contains(bytes[authorityEnd]) { authorityEnd += 1 }
        let authority = bytes[authorityStart..<authorityEnd]
        // Credentials in the URL are not sent anywhere: providers take keys in headers.
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")) else { throw .invalidURL }

        let hostPart: ArraySlice<UInt8>
        var portPart: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw .invalidURL }
            hostPart = authority[authority.startIndex + 1..<close]
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { throw .invalidURL }
                portPart = rest.dropFirst()
            }
            guard hostPart.contains(UInt8(ascii: ":")) else { throw .invalidURL }
            self.isAddressLiteral = true
        } else {
            if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
                hostPart = authority[..<colon]
                portPart = authority[(colon + 1)...]
            } else {
                hostPart = authority
            }
            self.isAddressLiteral = hostPart.allSatisfy { $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        guard !hostPart.isEmpty else { throw .invalidURL }
        self.host = String(decoding: hostPart, as: UTF8.self)
        let defaultPort = self.secure ? 443 : 80
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let port = Int(String(decoding: portPart, as: UTF8.self)), (1...65535).contains(port)
            else { throw .invalidURL }
            self.port = port
        } else {
            self.port = defaultPort
        }
        let written = String(decoding: authority.prefix(upTo: portPart.map { $0.startIndex - 1 } ?? authority.endIndex), as: UTF8.self)
        self.hostHeader = self.port == defaultPort ? written : "\(written):\(self.port)"

        var pathEnd = authorityEnd
        while pathEnd < bytes.count, bytes[pathEnd] != UInt8(ascii: "#") { pathEnd += 1 }
        let path = String(decoding: bytes[authorityEnd..<pathEnd], as: UTF8.self)
        self.path = path.first == "/" ? path : "/" + path
    }

    /// Connections are shared by requests to the same scheme, host, port and (when pinned) address.
    func poolKey(address: String?) -> String {
        "\(self.secure ? "https" : "http")://\(self.host):\(self.port)@\(address ?? "")"
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
