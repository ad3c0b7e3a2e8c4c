import AIChatCore
import Crypto
import Foundation
import Synchronization

/// Claims of the session token, as the original issued them (`userId`, `username`, `role`, `iat`, `exp`) plus
/// `tv`, the user's token version at issue time. A token without `tv` (issued by the original) counts as version 0.
public struct TokenClaims: Codable, Sendable, Equatable {
    public var userId: Int
    public var username: String
    public var role: String
    public var iat: Int
    public var exp: Int
    public var tv: Int?
}

/// Signs and verifies HS256 JSON Web Tokens.
public struct TokenService: Sendable {
    public static let lifetimeSeconds = 86_400
    private let key: SymmetricKey
    /// Tokens whose signature was already checked, with their claims: a signed-in browser sends the same token
    /// with every request, and decoding and checking it again each time is the larger part of authentication.
    /// Expiry is still checked on every use.
    private let verified = VerifiedTokens(capacity: 10_000)

    /// HMAC pads keys shorter than its block with zero bytes, so padding a short secret to 32 bytes signs
    /// exactly like the unpadded secret: tokens stay interchangeable with other HS256 implementations.
    public init(secret: String) {
        var bytes = Array(secret.utf8)
        if bytes.count < 32 { bytes += Array(repeating: 0, count: 32 - bytes.count) }
        self.key = SymmetricKey(data: bytes)
    }

    public enum Failure: Error, Equatable {
        case malformed
        case badSignature
        case expired
    }

    public func issue(userId: Int, username: String, role: String, tokenVersion: Int, now: Int = Int(Date().timeIntervalSince1970)) -> String {
        let claims = TokenClaims(userId: userId, username: username, role: role, iat: now, exp: now + Self.lifetimeSeconds, tv: tokenVersion)
        let header = Self.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Self.base64URL((try? JSONEncoder().encode(claims)) ?? Data())
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: self.key)
        return signingInput + "." + Self.base64URL(Data(signature))
    }

    public func verify(_ token: String, now: Int = Int(Date().timeIntervalSince1970)) throws(Failure) -> TokenClaims {
        if let claims = self.verified.claims(for: token) {
            guard claims.exp > now else { throw .expired }
            return claims
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = Self.decodeBase64URL(parts[0]),
            let payloadData = Self.decodeBase64URL(parts[1]),
            let signature = Self.decodeBase64URL(parts[2])
        else { throw .malformed }
        guard let header = try? JSONDecoder().decode([String: JSONValue].self, from: headerData),
            header["alg"] == .string("HS256")
        else { throw .malformed }
        let signingInput = Data((parts[0] + "." + parts[1]).utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: self.key) else {
            throw .badSignature
        }
        guard let claims = try? JSONDecoder().decode(TokenClaims.self, from: payloadData) else { throw .malformed }
        guard claims.exp > now else { throw .expired }
        self.verified.remember(claims, for: token)
        return claims
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// Claims of tokens with a checked signature, keyed by the whole token; emptied when full.
final class VerifiedTokens: Sendable {
    private let capacity: Int
    private let entries = Mutex<[String: TokenClaims]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    func claims(for token: String) -> TokenClaims? {
        self.entries.withLock { $0[token] }
    }

    func remember(_ claims: TokenClaims, for token: String) {
        self.entries.withLock { entries in
            if entries.count >= self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = claims
        }
    }
}
