import AIChatCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import AIChatBackend

@Suite struct UsersTests {
    /// An admin token and a backend with users `u1` … `u<count>`.
    func seed(_ backend: Backend, _ client: any TestClientProtocol, count: Int) async throws -> String {
        let admin = try await client.register("admin")
        let hash = try await backend.hasher.hash("password1")
        for index in 1...count {
            _ = try await backend.users.create(username: "u\(index)", hashedPassword: hash, role: .user)
        }
        return admin
    }

    @Test func listPaginatesAndSearches() async throws {
        try await withBackend { backend, client in
            let admin = try await self.seed(backend, client, count: 12)
            let first = try await client.call(.get, "/api/users?page=1&limit=5", token: admin)
            #expect(first.status == .ok)
            #expect(first.data?["users"]?.array?.count == 5)
            #expect(first.data?["pagination"] == .object(["page": .number(1), "limit": .number(5), "total": .number(13), "totalPages": .number(3)]))
            let item = try #require(first.data?["users"]?[0])
            #expect(item["_count"]?["chatSessions"]?.int == 0)
            #expect(item["_count"]?["connections"]?.int == 0)
            #expect(item["createdAt"]?.string?.hasSuffix("Z") == true)
            #expect(item["hashedPassword"] == nil)
            let search = try await client.call(.get, "/api/users?search=U1", token: admin)
            let names = search.data?["users"]?.array?.compactMap { $0["username"]?.string }.sorted()
            #expect(names == ["u1", "u10", "u11", "u12"])
            let wildcard = try await client.call(.get, "/api/users?search=%25", token: admin)
            #expect(wildcard.data?["pagination"]?["total"]?.int == 0)
        }
    }

    @Test(arguments: ["/api/users?page=0", "/api/users?limit=abc", "/api/users?limit=1000", "/api/users?page=-1"])
    func badPaginationIs400(uri: String) async throws {
        try await withBackend { _, client in
            let admin = try await client.register("admin")
            let reply = try await client.call(.get, uri, token: admin)
            #expect(reply.status == .badRequest)
            #expect(reply.error?.isEmpty == false)
        }
    }

    @Test func showAndBadIds() async throws {
        try await withBackend { backend, client in
            let admin = try await self.seed(backend, client, count: 1)
            #expect(try await client.call(.get, "/api/users/2", token: admin).data?["username"]?.string == "u1")
            #expect(try await client.call(.get, "/api/users/99", token: admin).error == "User not found")
            #expect(try await client.call(.get, "/api/users/99", token: admin).status == .notFound)
            for bad in ["abc", "12abc", "0", "-3", "1.5"] {
                let reply = try await client.call(.get, "/api/users/\(bad)", token: admin)
                #expect(reply.status == .badRequest, "id \(bad)")
                #expect(reply.error == "Invalid user ID")
            }
        }
    }

    @Test func nonAdminsAreRefused() async throws {
        try await withBackend { backend, client in
            _ = try await self.seed(backend, client, count: 1)
            let user = try #require(try await client.login("u1").data?["token"]?.string)
            for (method, uri) in [(HTTPRequest.Method.get, "/api/users"), (.get, "/api/users/1"), (.delete, "/api/users/1")] {
                let reply = try await client.call(method, uri, token: user)
                #expect(reply.status == .forbidden)
                #expect(reply.error == "Admin access required")
            }
            #expect(try await client.call(.get, "/api/users").status == .unauthorized)
        }
    }

    @Test func adminCreatesUsersAndResetsPasswords() async throws {
        try await withBackend { backend, client in
            let admin = try await client.register("admin")
            let created = try await client.call(
                .post, "/api/users", json: ["username": "carol", "password": "carolpass1", "role": "ADMIN"], token: admin)
            #expect(created.status == .ok)
            #expect(created.data?["role"]?.string == "ADMIN")
            #expect(created.json["message"]?.string == "User created successfully")
            let id = try #require(created.data?["id"]?.int)
            #expect(
                try await client.call(.post, "/api/users", json: ["username": "carol", "password": "carolpass1"], token: admin).status == .conflict)
            let badRole = try await client.call(
                .post, "/api/users", json: ["username": "dave", "password": "davepass1", "role": "ROOT"], token: admin)
            #expect(badRole.status == .badRequest)
            #expect(badRole.error == "role must be one of: ADMIN, USER")

            let carol = try #require(try await client.login("carol", "carolpass1").data?["token"]?.string)
            let weak = try await client.call(.put, "/api/users/\(id)/password", json: ["newPassword": "short"], token: admin)
            #expect(weak.status == .badRequest)
            let reset = try await client.call(.put, "/api/users/\(id)/password", json: ["newPassword": "resetpass9"], token: admin)
            #expect(reset.status == .ok)
            #expect(reset.json["message"]?.string == "Password reset successfully")
            #expect(try await client.call(.get, "/api/auth/me", token: carol).status == .unauthorized)
            #expect(try await client.login("carol", "resetpass9").status == .ok)
            #expect(try await client.call(.put, "/api/users/99/password", json: ["newPassword": "resetpass9"], token: admin).status == .notFound)
            _ = backend
        }
    }

    @Test func roleChangesKeepAnAdmin() async throws {
        try await withBackend { backend, client in
            let admin = try await self.seed(backend, client, count: 1)
            let promoted = try await client.call(.put, "/api/users/2/role", json: ["role": "ADMIN"], token: admin)
            #expect(promoted.status == .ok)
            #expect(promoted.data?["role"]?.string == "ADMIN")
            #expect(promoted.json["message"]?.string == "User role updated successfully")
            #expect(try await client.call(.put, "/api/users/1/role", json: ["role": "USER"], token: admin).error == "Cannot modify your own role")
            #expect(
                try await client.call(.put, "/api/users/2/role", json: ["role": "root"], token: admin).error == "Invalid role. Must be ADMIN or USER")
            #expect(try await client.call(.put, "/api/users/2/role", json: [:], token: admin).error == "Invalid role. Must be ADMIN or USER")
            #expect(try await client.call(.put, "/api/users/42/role", json: ["role": "USER"], token: admin).status == .notFound)
            // u1 (now admin) demotes the original admin: allowed, two admins exist.
            let u1 = try #require(try await client.login("u1").data?["token"]?.string)
            #expect(try await client.call(.put, "/api/users/1/role", json: ["role": "USER"], token: u1).status == .ok)
            // The store refuses to remove the last admin, whoever asks.
            await #expect(throws: UserStoreError.lastAdmin) { try await backend.users.setRole(id: 2, role: .user) }
            await #expect(throws: UserStoreError.lastAdmin) { try await backend.users.delete(id: 2) }
            // Demoting a user who is already USER is not blocked by the admin count.
            #expect(try await backend.users.setRole(id: 1, role: .user).role == .user)
        }
    }

    @Test func deleteCascadesToEverythingTheUserOwns() async throws {
        try await withBackend { backend, client in
            let admin = try await self.seed(backend, client, count: 1)
            try await backend.database.write { sql in
                try await sql.raw(
                    #"INSERT INTO "connections" ("ownerUserId", "provider", "baseUrl", "createdAt", "updatedAt") VALUES (2, 'openai', 'http://x', 0, 0)"#
                ).run()
                try await sql.raw(#"INSERT INTO "chat_sessions" ("userId", "connectionId", "title", "createdAt") VALUES (2, 1, 't', 0)"#).run()
                try await sql.raw(#"INSERT INTO "messages" ("sessionId", "role", "content", "createdAt") VALUES (1, 'user', 'hi', 0)"#).run()
            }
            try await backend.settingsRepository.updateUserSettings(userId: 2, ["theme": "dark"])
            let listed = try await client.call(.get, "/api/users/2", token: admin)
            #expect(listed.data?["_count"]?["chatSessions"]?.int == 1)
            #expect(listed.data?["_count"]?["connections"]?.int == 1)
            #expect(try await client.call(.delete, "/api/users/1", token: admin).error == "Cannot delete your own account")
            let deleted = try await client.call(.delete, "/api/users/2", token: admin)
            #expect(deleted.status == .ok)
            #expect(deleted.json["message"]?.string == "User deleted successfully")
            #expect(try await client.call(.delete, "/api/users/2", token: admin).status == .notFound)
            let remaining = try await backend.database.read { sql in
                try await sql.raw(
                    #"SELECT (SELECT COUNT(*) FROM "connections") + (SELECT COUNT(*) FROM "chat_sessions") + (SELECT COUNT(*) FROM "messages") + (SELECT COUNT(*) FROM "user_settings") AS "n""#
                ).first()?.decode(column: "n", as: Int.self)
            }
            #expect(remaining == 0)
        }
    }
}

/// The short-lived user cache used by authentication: changes made through it apply at once, changes made
/// elsewhere (another replica) within its lifetime.
@Suite struct CachedUserRepositoryTests {
    @Test func changesThroughTheCacheApplyAtOnceAndOutsideChangesAfterItsLifetime() async throws {
        try await withMigratedDatabase { database in
            let stored = SQLUserRepository(database: database)
            let cached = CachedUserRepository(stored, lifetime: .milliseconds(300))

            let first = try await cached.register(username: "first", hashedPassword: "x") { _ in }
            let second = try await cached.create(username: "second", hashedPassword: "x", role: .user)
            #expect(try await cached.find(id: second.id)?.role == .user)

            // Through the cache: seen on the next lookup.
            _ = try await cached.setRole(id: second.id, role: .admin)
            #expect(try await cached.find(id: second.id)?.role == .admin)
            try await cached.revokeTokens(id: second.id)
            #expect(try await cached.find(id: second.id)?.tokenVersion == 1)
            try await cached.setPassword(id: second.id, hashedPassword: "y")
            #expect(try await cached.find(id: second.id)?.tokenVersion == 2)

            // Behind the cache's back (as another replica would): the cached copy is served until it expires.
            #expect(try await cached.find(id: first.id)?.tokenVersion == 0)
            try await stored.revokeTokens(id: first.id)
            #expect(try await cached.find(id: first.id)?.tokenVersion == 0)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await cached.find(id: first.id)?.tokenVersion == 1)

            // A deleted user is gone at once; an unknown id is not remembered as missing.
            try await cached.delete(id: second.id)
            #expect(try await cached.find(id: second.id) == nil)
            let third = try await cached.create(username: "third", hashedPassword: "x", role: .user)
            #expect(try await cached.find(id: third.id)?.username == "third")
        }
    }
}
