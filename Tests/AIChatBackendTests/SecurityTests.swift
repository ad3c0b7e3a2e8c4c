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
    let policy = LoginThrottle.Policy(refuseAfter: 3, slowDownAfter: 5, windowSeconds: 60)

    @Test func refusesAPairAfterTheLimitUntilTheWindowPasses() async {
        let throttle = LoginThrottle(policy: self.policy)
        for second in 0..<3 {
            #expect(await throttle.admit(username: "Alice", address: "a", now: Int64(second) * 1000) == .proceed(afterMilliseconds: 0))
            await throttle.recordFailure(username: "Alice", address: "a", now: Int64(second) * 1000)
        }
        #expect(await throttle.admit(username: "alice", address: "a", now: 3_000) == .refused(retryAfterSeconds: 57))
        // The owner elsewhere and others from the same address are not locked out by those failures.
        #expect(await throttle.admit(username: "alice", address: "b", now: 3_000) == .proceed(afterMilliseconds: 0))
        #expect(await throttle.admit(username: "bob", address: "a", now: 3_000) == .proceed(afterMilliseconds: 0))
        #expect(await throttle.admit(username: "alice", address: "a", now: 60_001) == .proceed(afterMilliseconds: 0))
        await throttle.recordFailure(username: "alice", address: "a", now: 60_001)
        await throttle.recordSuccess(username: "alice", address: "a")
        #expect(await throttle.retryAfter(keys: ["pair:alice\u{0}a"], now: 60_002) == nil)
    }

    /// Many failures for one name from many addresses (or from one address for many names) slow every attempt for it,
    /// one behind another, and refuse only what would queue for more than 30 seconds.
    @Test func manyFailuresSlowAttemptsDownInAQueue() async {
        let throttle = LoginThrottle(policy: self.policy)
        for index in 0..<5 { await throttle.recordFailure(username: "admin", address: "10.0.0.\(index)", now: 0) }
        var waits: [Int64] = []
        while case .proceed(let wait) = await throttle.admit(username: "admin", address: "192.0.2.1", now: 1_000) {
            waits.append(wait)
        }
        #expect(waits == (0...30).map { Int64($0) * 1000 })
        #expect(await throttle.admit(username: "admin", address: "192.0.2.1", now: 1_000) == .refused(retryAfterSeconds: 1))
        // Each further failure doubles the step.
        await throttle.recordFailure(username: "admin", address: "10.0.0.9", now: 40_000)
        #expect(await throttle.admit(username: "admin", address: "192.0.2.1", now: 40_000) == .proceed(afterMilliseconds: 0))
        #expect(await throttle.admit(username: "admin", address: "192.0.2.1", now: 40_000) == .proceed(afterMilliseconds: 2_000))
        // Other names are untouched; an address that failed for many names is slowed for every name.
        #expect(await throttle.admit(username: "bob", address: "192.0.2.1", now: 40_000) == .proceed(afterMilliseconds: 0))
        for index in 0..<5 { await throttle.recordFailure(username: "user\(index)", address: "198.51.100.1", now: 40_000) }
        #expect(await throttle.admit(username: "carol", address: "198.51.100.1", now: 40_000) == .proceed(afterMilliseconds: 0))
        #expect(await throttle.admit(username: "dave", address: "198.51.100.1", now: 40_000) == .proceed(afterMilliseconds: 1_000))
    }
}

@Suite struct PasswordHasherTests {
    /// bcrypt work is bounded: past the limit of running and waiting hashes a call fails at once with 429.
    @Test func aFullQueueAnswersTooManyRequests() async throws {
        let hasher = PasswordHasher(cost: 13, threads: 1, limit: 1)
        let slow = Task { try await hasher.hash("password1") }
        while hasher.pending == 0 { try await Task.sleep(for: .milliseconds(5)) }
        do {
            _ = try await hasher.hash("password2")
            Issue.record("a second hash ran past the limit of one")
        } catch let error as APIError {
            #expect(error.status == .tooManyRequests)
            #expect(error.headers[.retryAfter] == "1")
        }
        let hash = try await slow.value
        #expect(try await hasher.verify("password1", hash: hash))
        await hasher.shutdown()
    }
}

@Suite struct AdminRouteTests {
    /// Every route the router has, called with an ordinary user's token: exactly the administrator's routes answer
    /// 403, and a route added later is covered without touching this test (it either answers 403 and must be listed
    /// here, or it is not an admin route).
    @Test func everyAdminRouteRefusesUsers() async throws {
        let adminRoutes: Set<String> = [
            "GET /api/users", "POST /api/users", "GET /api/users/{id}", "PUT /api/users/{id}/role", "PUT /api/users/{id}/password",
            "DELETE /api/users/{id}",
            "GET /api/settings/system", "PUT /api/settings/system",
            "GET /api/connections", "POST /api/connections", "PUT /api/connections/{id}", "DELETE /api/connections/{id}",
            "POST /api/catalog/models/refresh", "PUT /api/catalog/models/tags", "DELETE /api/catalog/models/tags",
            "GET /api/catalog/models/overrides", "POST /api/catalog/models/overrides",
        ]
        try await withBackend(["APP_MODE": "multi"]) { backend, client in
            let admin = try await client.register("admin")
            _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
            let user = try await client.register("alice")
            var refused: Set<String> = []
            for route in backend.router().routes {
                let path = "/" + route.path.description.drop { $0 == "/" }
                // Auth routes would sign the user out (logout) or change the password; none of them is an admin route.
                guard !path.hasPrefix("/api/auth") else { continue }
                let uri = "/" + path.split(separator: "/").map { $0.hasPrefix("{") || $0.hasPrefix(":") ? "1" : String($0) }.joined(separator: "/")
                let reply = try await client.call(route.method, uri, json: [:], token: user)
                if reply.status == .forbidden { refused.insert("\(route.method) \(path)") }
            }
            #expect(refused == adminRoutes, "unexpected: \(refused.symmetricDifference(adminRoutes))")
        }
    }
}

@Suite struct ModelAccessTests {
    /// On a system connection a user gets the models the administrator offers and no other, whatever route names the
    /// model; and a user never learns where a system connection points.
    @Test func usersGetOnlyTheModelsOffered() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi"]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake, model: "offered")
                let alice = try await chat.registerAnother("alice", client)
                fake.setFallback(.chunks(FakeStreams.openAI(["ok"]), contentType: "text/event-stream"))
                let unlisted: [(String, [String: Any])] = [
                    ("/api/sessions", ["connectionId": chat.connectionId, "rawId": "gpt-expensive"]),
                    ("/api/sessions", ["modelId": "gpt-expensive"]),
                    ("/api/chat/generate", ["connectionId": chat.connectionId, "modelId": "gpt-expensive", "prompt": "hi"]),
                    ("/api/chat/generate", ["modelId": "gpt-expensive", "prompt": "hi"]),
                ]
                for (path, body) in unlisted {
                    let refused = try await client.call(.post, path, json: body, token: alice)
                    #expect(refused.status == .badRequest, "\(path) \(body)")
                    #expect(refused.error?.contains("is not offered to you") == true, "\(refused.json)")
                }
                #expect(fake.chatRequests.isEmpty)
                // The administrator may name any model on the connection.
                let adminGenerate = try await client.call(
                    .post, "/api/chat/generate", json: ["connectionId": chat.connectionId, "modelId": "gpt-expensive", "prompt": "hi"],
                    token: chat.token)
                #expect(adminGenerate.status == .ok)

                let session = try await client.call(.post, "/api/sessions", json: ["modelId": "offered"], token: alice)
                let sessionId = try #require(session.data?["id"]?.int, "\(session.json)")
                #expect(session.data?["connection"]?["baseUrl"]?.string == "")
                let listed = try await client.call(.get, "/api/sessions", token: alice)
                #expect(listed.data?["sessions"]?[0]?["connection"]?["baseUrl"]?.string == "")
                #expect(try await client.call(.get, "/api/sessions/\(sessionId)", token: alice).data?["connection"]?["baseUrl"]?.string == "")
                let adminView = try await client.call(.get, "/api/sessions/\(chat.sessionId)", token: chat.token)
                #expect(adminView.data?["connection"]?["baseUrl"]?.string == fake.baseURL + "/v1")
                let catalog = try await client.call(.get, "/api/catalog/models", token: alice)
                #expect(!String(describing: catalog.json).contains(fake.baseURL))

                let sent = try await client.call(.post, "/api/chat/completion", json: ["sessionId": sessionId, "content": "hello"], token: alice)
                #expect(sent.status == .ok, "\(sent.json)")
                // The administrator withdraws the model: the session can no longer send.
                _ = try await client.call(.put, "/api/connections/\(chat.connectionId)", json: ["modelIds": ["replacement"]], token: chat.token)
                let withdrawn = try await client.call(
                    .post, "/api/chat/completion", json: ["sessionId": sessionId, "content": "again"], token: alice)
                #expect(withdrawn.status == .badRequest)
                #expect(withdrawn.error?.contains("offered is not offered to you") == true, "\(withdrawn.json)")
                let regenerate = try await client.call(.post, "/api/chat/regenerate", json: ["sessionId": sessionId, "messageId": 1], token: alice)
                #expect(regenerate.status == .badRequest)
            }
        }
    }
}
