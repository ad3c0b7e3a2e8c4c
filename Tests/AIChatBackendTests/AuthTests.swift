import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AIChatBackend

@Suite struct AuthTests {
    @Test func firstUserBecomesAdminAndGetsCookieAndToken() async throws {
        try await withBackend { _, client in
            let reply = try await client.call(.post, "/api/auth/register", json: ["username": "alice", "password": "password1"])
            #expect(reply.status == .ok)
            #expect(reply.json["message"]?.string == "Registration successful")
            #expect(reply.data?["user"]?["role"]?.string == "ADMIN")
            #expect(reply.data?["user"]?["username"]?.string == "alice")
            #expect(reply.data?["user"]?["id"]?.int == 1)
            let token = try #require(reply.data?["token"]?.string)
            let cookie = try #require(reply.headers[.setCookie])
            #expect(cookie.hasPrefix("token=\(token);"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(cookie.contains("Path=/"))
            #expect(cookie.contains("Max-Age=86400"))
            #expect(!cookie.contains("Secure"))
        }
    }

    @Test func singleModeAllowsOnlyTheFirstRegistration() async throws {
        try await withBackend { _, client in
            _ = try await client.register("owner")
            let second = try await client.call(.post, "/api/auth/register", json: ["username": "bob", "password": "password1"])
            #expect(second.status == .forbidden)
            #expect(second.error == "Registration is disabled in single user mode")
        }
    }

    @Test func multiModeFollowsTheRegistrationSetting() async throws {
        try await withBackend(["APP_MODE": "multi"]) { _, client in
            let admin = try await client.register("owner")
            let closed = try await client.call(.post, "/api/auth/register", json: ["username": "bob", "password": "password1"])
            #expect(closed.status == .forbidden)
            #expect(closed.error == "Registration is currently disabled")
            let enable = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
            #expect(enable.status == .ok)
            let open = try await client.call(.post, "/api/auth/register", json: ["username": "bob", "password": "password1"])
            #expect(open.status == .ok)
            #expect(open.data?["user"]?["role"]?.string == "USER")
            let duplicate = try await client.call(.post, "/api/auth/register", json: ["username": "bob", "password": "password2"])
            #expect(duplicate.status == .conflict)
            #expect(duplicate.error == "Username already exists")
        }
    }

    @Test(arguments: [
        (#"{"username":"ab","password":"password1"}"#, "Username must be 3-20 characters, letters, numbers, and underscores only"),
        (#"{"username":"bad name","password":"password1"}"#, "Username must be 3-20 characters, letters, numbers, and underscores only"),
        (#"{"username":"名字名字","password":"password1"}"#, "Username must be 3-20 characters, letters, numbers, and underscores only"),
        (#"{"username":"alice","password":"short1"}"#, "Password must be at least 8 characters with letters and numbers"),
        (#"{"username":"alice","password":"onlyletters"}"#, "Password must be at least 8 characters with letters and numbers"),
        (#"{"username":"alice","password":"12345678"}"#, "Password must be at least 8 characters with letters and numbers"),
        (#"{"username":"alice"}"#, "password is required"),
        (#"{"username":42,"password":"password1"}"#, "username must be a string, not number"),
        (#"{"username":"alice","password":null}"#, "password is required"),
    ])
    func registrationRejectsBadInput(body: String, message: String) async throws {
        try await withBackend { _, client in
            let reply = try await client.call(.post, "/api/auth/register", raw: body)
            #expect(reply.status == .badRequest)
            #expect(reply.error == message)
            #expect(reply.json["success"]?.bool == false)
        }
    }

    @Test func concurrentFirstRegistrationsMakeExactlyOneAdmin() async throws {
        try await withBackend(["APP_MODE": "single"]) { backend, client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await client.call(.post, "/api/auth/register", json: ["username": "racer\(index)", "password": "password1"]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .forbidden }.count == 7)
            #expect(try await backend.users.count() == 1)
        }
        try await withBackend(["APP_MODE": "multi"]) { backend, client in
            // Open registration so every request succeeds; still only one may become admin.
            try await backend.settingsRepository.updateSystem(["registration_enabled": "true"])
            _ = try await backend.settings.update([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let reply = try await client.call(.post, "/api/auth/register", json: ["username": "racer\(index)", "password": "password1"])
                        #expect(reply.status == .ok)
                    }
                }
                try await group.waitForAll()
            }
            let page = try await backend.users.list(search: nil, page: 1, limit: 50)
            #expect(page.total == 8)
            #expect(page.items.filter { $0.role == .admin }.count == 1)
        }
    }

    @Test func loginWithBearerAndCookie() async throws {
        try await withBackend { _, client in
            _ = try await client.register("alice")
            let wrong = try await client.login("alice", "password2")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.error == "Invalid username or password")
            let unknown = try await client.login("nobody", "password1")
            #expect(unknown.error == "Invalid username or password")
            let ok = try await client.login("alice")
            #expect(ok.status == .ok)
            #expect(ok.json["message"]?.string == "Login successful")
            let token = try #require(ok.data?["token"]?.string)
            let me = try await client.call(.get, "/api/auth/me", token: token)
            #expect(me.status == .ok)
            #expect(me.data == .object(["id": .number(1), "username": .string("alice"), "role": .string("ADMIN")]))
            let byCookie = try await client.call(.get, "/api/auth/me", headers: [.cookie: "theme=dark; token=\(token)"])
            #expect(byCookie.status == .ok)
        }
    }

    @Test func missingOrInvalidTokensGetTheOriginalMessages() async throws {
        try await withBackend { backend, client in
            let none = try await client.call(.get, "/api/auth/me")
            #expect(none.status == .unauthorized)
            #expect(none.error == "Missing or invalid authorization header")
            let lowercase = try await client.call(.get, "/api/auth/me", headers: [.authorization: "bearer abc"])
            #expect(lowercase.error == "Missing or invalid authorization header")
            let garbage = try await client.call(.get, "/api/auth/me", token: "abc.def.ghi")
            #expect(garbage.error == "Invalid or expired token")
            let ghost = backend.tokens.issue(userId: 99, username: "ghost", role: "ADMIN", tokenVersion: 0)
            let missing = try await client.call(.get, "/api/auth/me", token: ghost)
            #expect(missing.error == "User not found")
        }
    }

    @Test func roleComesFromTheDatabaseNotTheToken() async throws {
        try await withBackend(["APP_MODE": "multi", "REGISTRATION_ENABLED": ""]) { backend, client in
            _ = try await client.register("admin")
            _ = try await backend.users.create(username: "bob", hashedPassword: try await backend.hasher.hash("password1"), role: .user)
            let forged = backend.tokens.issue(userId: 2, username: "bob", role: "ADMIN", tokenVersion: 0)
            let reply = try await client.call(.get, "/api/users", token: forged)
            #expect(reply.status == .forbidden)
            #expect(reply.error == "Admin access required")
        }
    }

    @Test func logoutRevokesTokensAndClearsTheCookie() async throws {
        try await withBackend { _, client in
            let token = try await client.register("alice")
            let other = try #require(try await client.login("alice").data?["token"]?.string)
            let logout = try await client.call(.post, "/api/auth/logout", token: token)
            #expect(logout.status == .ok)
            #expect(logout.json["message"]?.string == "Logged out")
            #expect(logout.headers[.setCookie]?.hasPrefix("token=; Max-Age=0") == true)
            #expect(try await client.call(.get, "/api/auth/me", token: token).status == .unauthorized)
            #expect(try await client.call(.get, "/api/auth/me", token: other).status == .unauthorized)
            let fresh = try #require(try await client.login("alice").data?["token"]?.string)
            #expect(try await client.call(.get, "/api/auth/me", token: fresh).status == .ok)
            // Without a token logout still answers 200.
            #expect(try await client.call(.post, "/api/auth/logout").status == .ok)
        }
    }

    @Test func passwordChangeRevokesOldTokensButKeepsThisClientSignedIn() async throws {
        try await withBackend { _, client in
            let token = try await client.register("alice")
            let wrong = try await client.call(
                .put, "/api/auth/password", json: ["currentPassword": "nope1234", "newPassword": "newpass123"], token: token)
            #expect(wrong.status == .badRequest)
            #expect(wrong.error == "Current password is incorrect")
            #expect(try await client.call(.get, "/api/auth/me", token: token).status == .ok)
            let weak = try await client.call(.put, "/api/auth/password", json: ["currentPassword": "password1", "newPassword": "weak"], token: token)
            #expect(weak.error == "New password must be at least 8 characters with letters and numbers")
            let changed = try await client.call(
                .put, "/api/auth/password", json: ["currentPassword": "password1", "newPassword": "newpass123"], token: token)
            #expect(changed.status == .ok)
            #expect(changed.json["message"]?.string == "Password updated successfully")
            let newToken = try #require(changed.data?["token"]?.string)
            #expect(changed.headers[.setCookie]?.contains(newToken) == true)
            #expect(try await client.call(.get, "/api/auth/me", token: token).status == .unauthorized)
            #expect(try await client.call(.get, "/api/auth/me", token: newToken).status == .ok)
            #expect(try await client.login("alice", "password1").status == .unauthorized)
            #expect(try await client.login("alice", "newpass123").status == .ok)
        }
    }

    /// bcrypt reads 72 bytes: a password of 72 bytes works in full, a longer one is refused everywhere, so a password
    /// and a longer one sharing its 72 bytes are never interchangeable.
    @Test func passwordsOverBcryptsLimitAreRefused() async throws {
        try await withBackend(["APP_MODE": "multi"]) { _, client in
            let exact = String(repeating: "a", count: 70) + "1é"  // 70 + 1 + 2 = 73 bytes
            #expect(exact.utf8.count == 73)
            let refused = try await client.call(.post, "/api/auth/register", json: ["username": "alice", "password": exact])
            #expect(refused.status == .badRequest)
            #expect(refused.error == AuthRules.passwordTooLongMessage)
            let stored = String(repeating: "a", count: 71) + "1"
            let admin = try await client.register("admin", stored)
            #expect(try await client.login("admin", stored).status == .ok)
            let sharingItsBytes = try await client.login("admin", stored + "anything9")
            #expect(sharingItsBytes.status == .badRequest)
            #expect(sharingItsBytes.json["data"] == nil)
            for (path, body) in [
                ("/api/auth/password", ["currentPassword": stored, "newPassword": stored + "x"]),
                ("/api/users", ["username": "bob", "password": stored + "x"]),
            ] {
                let reply = try await client.call(path == "/api/users" ? .post : .put, path, json: body, token: admin)
                #expect(reply.error == AuthRules.passwordTooLongMessage, "\(path)")
            }
            #expect(
                try await client.call(.put, "/api/users/1/password", json: ["newPassword": stored + "x"], token: admin).error
                    == AuthRules.passwordTooLongMessage)
        }
        #expect(AuthRules.loggable("eve\n2026 admin logged in\u{1b}[2K\u{202e}") == "eve\\u{a}2026 admin logged in\\u{1b}[2K\\u{202e}")
    }

    /// ADMIN_USERNAME / ADMIN_PASSWORD (or the DEFAULT_ names) make the administrator at start, so registration is
    /// never open to whoever comes first; an incomplete or invalid pair stops the start with a message.
    @Test func theAdministratorCanBeCreatedAtStart() async throws {
        for names in [("ADMIN_USERNAME", "ADMIN_PASSWORD"), ("DEFAULT_ADMIN_USERNAME", "DEFAULT_ADMIN_PASSWORD")] {
            try await withBackend([names.0: "root_admin", names.1: "s3cret-pass"]) { _, client in
                let login = try await client.login("root_admin", "s3cret-pass")
                #expect(login.status == .ok)
                #expect(login.data?["user"]?["role"]?.string == "ADMIN")
                let stranger = try await client.call(.post, "/api/auth/register", json: ["username": "first", "password": "password1"])
                #expect(stranger.status == .forbidden, "\(stranger.json)")
            }
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for env in [
            ["ADMIN_USERNAME": "root_admin"], ["ADMIN_USERNAME": "root_admin", "ADMIN_PASSWORD": "short"], ["ADMIN_PASSWORD": "s3cret-pass"],
        ] {
            #expect(throws: ConfigurationError.self, "\(env)") { try BackendConfiguration(env: TestEnv.values(directory: directory.path, env)) }
        }
        let hidden = try? BackendConfiguration(
            env: TestEnv.values(directory: directory.path, ["ADMIN_USERNAME": "x_admin", "ADMIN_PASSWORD": "nodigits"]))
        #expect(hidden == nil)
    }

    /// Failures lock out a (username, address) pair, never the username everywhere nor the address for everyone.
    @Test func loginIsThrottledPerUsernameAndAddressPair() async throws {
        // Live server: the peer is 127.0.0.1, a private address, so X-Forwarded-For names the client.
        try await withBackend(["LOGIN_MAX_FAILURES": "3"]) { backend, client in
            _ = try await client.register("alice")
            _ = try await backend.users.create(username: "bob", hashedPassword: try await backend.hasher.hash("password1"), role: .user)
            func from(_ address: String) -> HTTPFields { [HTTPField.Name("X-Forwarded-For")!: "198.51.100.7, \(address)"] }
            for _ in 0..<3 {
                #expect(try await client.login("alice", "wrongpass1", headers: from("203.0.113.1")).status == .unauthorized)
            }
            let blocked = try await client.login("alice", headers: from("203.0.113.1"))
            #expect(blocked.status == .tooManyRequests)
            let retryAfter = try #require(blocked.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 900)
            #expect(blocked.error?.contains("Too many failed login attempts") == true)
            // The owner from another address, and other users from the same one, still get in.
            #expect(try await client.login("alice", headers: from("203.0.113.99")).status == .ok)
            #expect(try await client.login("bob", headers: from("203.0.113.1")).status == .ok)
        }
    }

    @Test func cookieSecureFollowsThePolicy() async throws {
        try await withBackend(["COOKIE_SECURE": "auto"]) { _, client in
            _ = try await client.register("alice")
            let plain = try await client.login("alice")
            #expect(plain.headers[.setCookie]?.contains("Secure") == false)
            let proxied = try await client.login("alice", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(proxied.headers[.setCookie]?.hasSuffix("; Secure") == true)
        }
        try await withBackend(["COOKIE_SECURE": "true"]) { _, client in
            let reply = try await client.call(.post, "/api/auth/register", json: ["username": "alice", "password": "password1"])
            #expect(reply.headers[.setCookie]?.hasSuffix("; Secure") == true)
        }
        try await withBackend(["COOKIE_SECURE": "false"]) { _, client in
            _ = try await client.register("alice")
            let proxied = try await client.login("alice", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(proxied.headers[.setCookie]?.contains("Secure") == false)
        }
    }

    @Test func clientAddressTrustsForwardedForOnlyFromPrivatePeers() {
        #expect(AppRequestContext.isPrivate("127.0.0.1"))
        #expect(AppRequestContext.isPrivate("172.18.0.3"))
        #expect(AppRequestContext.isPrivate("::ffff:10.0.0.2"))
        #expect(!AppRequestContext.isPrivate("172.32.0.1"))
        #expect(!AppRequestContext.isPrivate("203.0.113.5"))
    }
}
