import AIChatCore
import Crypto
import Foundation
import Testing

@testable import AIChatBackend

@Suite struct TokenTests {
    let service = TokenService(secret: TestEnv.secret)

    @Test func issuedTokensVerifyWithTheOriginalClaims() throws {
        let token = self.service.issue(userId: 7, username: "alice", role: "USER", tokenVersion: 3, now: 1_000)
        let claims = try self.service.verify(token, now: 1_001)
        #expect(claims == TokenClaims(userId: 7, username: "alice", role: "USER", iat: 1_000, exp: 1_000 + 86_400, tv: 3))
    }

    @Test func expiredTamperedAndUnsignedTokensAreRejected() throws {
        let token = self.service.issue(userId: 1, username: "a", role: "ADMIN", tokenVersion: 0, now: 1_000)
        #expect(throws: TokenService.Failure.expired) { try self.service.verify(token, now: 1_000 + 86_400) }
        var parts = token.split(separator: ".").map(String.init)
        let forged = TokenService.base64URL(Data(#"{"userId":2,"username":"b","role":"ADMIN","iat":1000,"exp":99999999999}"#.utf8))
        #expect(throws: TokenService.Failure.badSignature) {
            try self.service.verify([parts[0], forged, parts[2]].joined(separator: "."), now: 1_001)
        }
        parts[0] = TokenService.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        #expect(throws: TokenService.Failure.malformed) { try self.service.verify(parts[0] + "." + parts[1] + ".", now: 1_001) }
        #expect(throws: TokenService.Failure.malformed) { try self.service.verify("not-a-token") }
        let other = TokenService(secret: "another-secret-another-secret-another")
        #expect(throws: TokenService.Failure.badSignature) { try other.verify(token, now: 1_001) }
    }

    /// A token already checked is served from memory, but its expiry is still enforced and every other string,
    /// however close, is checked in full.
    @Test func rememberedTokensStillExpireAndLookalikesAreChecked() throws {
        let token = self.service.issue(userId: 4, username: "d", role: "USER", tokenVersion: 0, now: 5_000)
        #expect(try self.service.verify(token, now: 5_001).userId == 4)
        #expect(try self.service.verify(token, now: 5_002).userId == 4)
        #expect(throws: TokenService.Failure.expired) { try self.service.verify(token, now: 5_000 + 86_400) }
        var tampered = Array(token)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        #expect(throws: TokenService.Failure.badSignature) { try self.service.verify(String(tampered), now: 5_001) }
    }

    /// Padding a short secret must not change signatures: a token signed elsewhere with the raw short secret verifies.
    @Test func shortSecretsSignLikeTheRawSecret() throws {
        let secret = "short-secret"
        let header = TokenService.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = TokenService.base64URL(Data(#"{"userId":1,"username":"admin","role":"ADMIN","iat":1000,"exp":2000}"#.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data((header + "." + payload).utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let token = header + "." + payload + "." + TokenService.base64URL(Data(mac))
        let claims = try TokenService(secret: secret).verify(token, now: 1500)
        #expect(claims.userId == 1)
        #expect(claims.tv == nil)
    }
}

@Suite struct CipherTests {
    @Test func newValuesRoundTripWithAESGCM() throws {
        let cipher = SecretCipher(encryptionKey: "k1")
        let stored = try cipher.encrypt("sk-live-123")
        #expect(stored.hasPrefix("v2:"))
        #expect(!stored.contains("sk-live"))
        #expect(try cipher.decrypt(stored) == "sk-live-123")
        #expect(try cipher.encrypt("sk-live-123") != stored)
        #expect(throws: SecretCipher.Failure.undecryptable) { try SecretCipher(encryptionKey: "k2").decrypt(stored) }
        #expect(try cipher.decrypt("") == "")
    }

    @Test func tamperedValuesFail() throws {
        let cipher = SecretCipher(encryptionKey: "k1")
        let stored = try cipher.encrypt("secret")
        var bytes = try #require(Data(base64Encoded: String(stored.dropFirst(3))))
        for index in [0, 12, bytes.count - 1] {
            bytes[index] ^= 0x01
            #expect(throws: SecretCipher.Failure.undecryptable) { try cipher.decrypt("v2:" + bytes.base64EncodedString()) }
            bytes[index] ^= 0x01
        }
        #expect(try cipher.decrypt("v2:" + bytes.base64EncodedString()) == "secret")
    }

    /// The original's format: a value written with its default passphrase (taken from the fixture database).
    @Test func originalCiphertextDecrypts() throws {
        let stored = "U2FsdGVkX19aHD5/my1AaCiM6Uu4ePNwV0m+cjG8ihrJToPB6+vLsSky2jPEDHkN"
        #expect(SecretCipher.isLegacy(stored))
        #expect(try SecretCipher(encryptionKey: "a-new-random-key").decrypt(stored) == "sk-original-test-key-123")
        let custom = try SecretCipher.encryptLegacy("key-x", passphrase: "custom-pass", salt: Data(repeating: 7, count: 8))
        #expect(try SecretCipher(encryptionKey: "custom-pass").decrypt(custom) == "key-x")
        #expect(throws: SecretCipher.Failure.undecryptable) { try SecretCipher(encryptionKey: "wrong").decrypt(custom) }
    }
}

@Suite struct TimestampTests {
    @Test func formatsISO8601WithMilliseconds() {
        #expect(Timestamp(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 1_761_379_953_123).iso8601 == "2025-10-25T08:12:33.123Z")
        #expect(Timestamp(milliseconds: 951_782_400_000).iso8601 == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesTheTextFormsADatabaseMayHold() {
        #expect(Timestamp(parsing: "2025-10-25T08:12:33.123Z")?.milliseconds == 1_761_379_953_123)
        #expect(Timestamp(parsing: "2025-10-25 08:12:33")?.milliseconds == 1_761_379_953_000)
        #expect(Timestamp(parsing: "2025-10-25T10:12:33.1234+02:00")?.milliseconds == 1_761_379_953_123)
        #expect(Timestamp(parsing: "yesterday") == nil)
        #expect(Timestamp(parsing: "2025-13-01 00:00:00") == nil)
    }
}

@Suite struct LoginThrottleTests {
    @Test func refusesAfterTheLimitUntilTheWindowPasses() async {
        let throttle = LoginThrottle(maxFailures: 3, windowSeconds: 60)
        for second in 0..<3 {
            #expect(await throttle.retryAfter(keys: ["u"], now: Int64(second) * 1000) == nil)
            await throttle.recordFailure(keys: ["u"], now: Int64(second) * 1000)
        }
        #expect(await throttle.retryAfter(keys: ["u"], now: 3_000) == 57)
        #expect(await throttle.retryAfter(keys: ["other"], now: 3_000) == nil)
        #expect(await throttle.retryAfter(keys: ["u"], now: 60_001) == nil)
        await throttle.recordFailure(keys: ["u"], now: 60_001)
        await throttle.clear(key: "u")
        #expect(await throttle.retryAfter(keys: ["u"], now: 60_002) == nil)
    }
}
