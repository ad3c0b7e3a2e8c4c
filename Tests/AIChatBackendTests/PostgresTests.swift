import AIChatCore
import Foundation
import HummingbirdTesting
import SQLKit
import Testing

@testable import AIChatBackend

/// The same repositories and routes on PostgreSQL. `.ci/run` starts a throwaway server and sets
/// `AICHAT_TEST_POSTGRES_URL` (a URL of a role that may create databases); without it these tests are skipped.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["AICHAT_TEST_POSTGRES_URL"] != nil))
struct PostgresTests {
    /// A new, empty database for one test; its URL.
    static func freshDatabaseURL() async throws -> String {
        let adminURL = try #require(ProcessInfo.processInfo.environment["AICHAT_TEST_POSTGRES_URL"])
        let name = "aichat_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = try await PostgresAppDatabase.open(url: adminURL, logger: TestEnv.logger)
        try await admin.read { sql in try await sql.raw("CREATE DATABASE \(ident: String(name))").run() }
        await admin.close()
        var components = try #require(URLComponents(string: adminURL))
        components.path = "/" + name
        return try #require(components.string)
    }

    @Test func migrationsApplyOnceAndCreateEveryTable() async throws {
        let database = try await PostgresAppDatabase.open(url: try await Self.freshDatabaseURL(), logger: TestEnv.logger)
        #expect(try await Migrator().migrate(database, logger: TestEnv.logger) == Migrations.all.map(\.version))
        #expect(try await Migrator().migrate(database, logger: TestEnv.logger) == [])
        let tables = try await database.read { sql in
            try await sql.raw("SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema()").all()
                .map { try $0.decode(column: "name", as: String.self) }
        }
        for table in ["users", "chat_sessions", "messages", "usage_metrics", "system_settings", "connections", "model_catalog", "user_settings"] {
            #expect(tables.contains(table), "missing \(table)")
        }
        await database.close()
    }

    @Test func authUsersAndSettingsWorkThroughTheRouter() async throws {
        let url = try await Self.freshDatabaseURL()
        try await withBackend(["DATABASE_URL": url, "APP_MODE": "multi"]) { backend, client in
            let admin = try await client.register("admin")
            #expect(
                try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true, "brand_text": "PG"], token: admin).status
                    == .ok)
            #expect(
                try await client.call(.put, "/api/settings/system", json: ["brand_text": "PG2"], token: admin).data?["brand_text"]?.string == "PG2")
            for name in ["bob", "bobby", "carol"] { _ = try await client.register(name) }
            let search = try await client.call(.get, "/api/users?search=BOB&limit=1", token: admin)
            #expect(search.data?["pagination"]?["total"]?.int == 2)
            #expect(search.data?["users"]?.array?.count == 1)
            #expect(try await client.call(.put, "/api/users/2/role", json: ["role": "ADMIN"], token: admin).status == .ok)
            try await backend.database.write { sql in
                try await sql.raw(#"INSERT INTO "chat_sessions" ("userId", "title", "createdAt") VALUES (3, 't', 0)"#).run()
            }
            #expect(try await client.call(.get, "/api/users/3", token: admin).data?["_count"]?["chatSessions"]?.int == 1)
            #expect(try await client.call(.delete, "/api/users/3", token: admin).status == .ok)
            let sessions = try await backend.database.read { sql in
                try await sql.raw(#"SELECT COUNT(*) AS n FROM "chat_sessions""#).first()?.decode(column: "n", as: Int.self)
            }
            #expect(sessions == 0)
            let bob = try #require(try await client.login("bob").data?["token"]?.string)
            #expect(
                try await client.call(.put, "/api/settings/personal", json: ["theme": "dark", "context_token_limit": 9000], token: bob).status == .ok)
            #expect(try await client.call(.get, "/api/settings/personal", token: bob).data?["context_token_limit"]?.int == 9000)
            #expect(
                try await client.call(.put, "/api/auth/password", json: ["currentPassword": "password1", "newPassword": "password9"], token: bob)
                    .status == .ok)
            #expect(try await client.call(.get, "/api/auth/me", token: bob).status == .unauthorized)
            #expect(try await client.call(.get, "/api/settings/health").data?["status"]?.string == "healthy")
            #expect(try await client.call(.get, "/api/users/1", token: admin).data?["createdAt"]?.string?.hasSuffix("Z") == true)
        }
    }

    @Test func userMessagesAreIdempotentPerClientMessageId() async throws {
        let url = try await Self.freshDatabaseURL()
        try await withBackend(["DATABASE_URL": url]) { backend, client in
            _ = try await client.register("admin")
            try await backend.database.write { sql in
                try await sql.raw(#"INSERT INTO "connections" ("provider", "baseUrl", "createdAt", "updatedAt") VALUES ('openai', 'http://x', 0, 0)"#)
                    .run()
                try await sql.raw(
                    #"INSERT INTO "chat_sessions" ("userId", "connectionId", "modelRawId", "title", "createdAt") VALUES (1, 1, 'm', 't', 0)"#
                ).run()
                try await sql.raw(#"INSERT INTO "chat_sessions" ("userId", "title", "createdAt") VALUES (1, 'no model', 0)"#).run()
            }
            let (first, created) = try #require(
                try await backend.messages.insertUser(sessionId: 1, userId: 1, content: "hi", clientMessageId: "c1", images: [], retitle: nil))
            let (again, createdAgain) = try #require(
                try await backend.messages.insertUser(sessionId: 1, userId: 1, content: "changed", clientMessageId: "c1", images: [], retitle: nil)
            )
            let (plain, _) = try #require(
                try await backend.messages.insertUser(sessionId: 1, userId: 1, content: "hi", clientMessageId: nil, images: [], retitle: nil))
            #expect(created && !createdAgain)
            #expect(again.id == first.id)
            #expect(again.content == "hi")
            #expect(plain.id != first.id)
            // Another user's session, or one that cannot answer, stores nothing.
            #expect(
                try await backend.messages.insertUser(sessionId: 1, userId: 2, content: "x", clientMessageId: "c1", images: [], retitle: nil) == nil)
            #expect(
                try await backend.messages.insertUser(sessionId: 2, userId: 1, content: "x", clientMessageId: nil, images: [], retitle: nil) == nil)
        }
    }

    /// A conversation end to end on PostgreSQL: streamed answers, a regenerated version, per-answer usage in the
    /// message list, and the history sent to the model in conversation order.
    @Test func chatRunsEndToEnd() async throws {
        let url = try await Self.freshDatabaseURL()
        try await FakeProvider.run { fake in
            try await withBackend(["DATABASE_URL": url]) { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                for (question, answer) in [("q1", "a1"), ("q2", "a2")] {
                    fake.enqueue(.chunks(FakeStreams.openAI([answer]), contentType: "text/event-stream"))
                    let (_, sse, _) = try await client.stream(
                        "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": question], token: chat.token)
                    #expect(sse.content == answer)
                }
                let page = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token)
                let stored = try #require(page.data?["messages"]?.array)
                #expect(stored.compactMap { $0["content"]?.string } == ["q1", "a1", "q2", "a2"])
                #expect(stored[1]["usage"]?["total_tokens"]?.int != nil)
                let firstAnswer = try #require(stored[1]["id"]?.int)
                fake.enqueue(.chunks(FakeStreams.openAI(["a1 again"]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/regenerate", json: ["sessionId": chat.sessionId, "messageId": firstAnswer], token: chat.token)
                fake.enqueue(.chunks(FakeStreams.openAI(["a3"]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q3"], token: chat.token)
                let sent = fake.chatRequests.last?.json?["messages"]?.array?.compactMap { $0["content"]?.string }
                #expect(sent == ["q1", "a1 again", "q2", "a2", "q3"])
                let found = try #require(try await backend.sessions.findWithConnection(id: chat.sessionId, userId: 1))
                #expect(found.connection?.id == chat.connectionId)
                // Usage sums (four answers of 12 + 5 tokens) decode as integers on PostgreSQL too.
                let usage = try await client.call(.get, "/api/chat/usage?sessionId=\(chat.sessionId)", token: chat.token)
                #expect(usage.data?["totals"]?["total_tokens"]?.int == 68, "\(usage.json)")
                #expect(usage.data?["totals"]?["prompt_tokens"]?.int == 48)
                let perSession = try await client.call(.get, "/api/chat/sessions/usage", token: chat.token)
                #expect(perSession.data?.array?.first?["totals"]?["completion_tokens"]?.int == 20, "\(perSession.json)")
                let daily = try await client.call(.get, "/api/chat/usage/daily", token: chat.token)
                #expect(daily.data?["rows"]?.array?.compactMap { $0["total_tokens"]?.int }.reduce(0, +) == 68, "\(daily.json)")
            }
        }
    }

    /// U+0000 from a provider (answer text, model ids) is left out of what is stored: PostgreSQL refuses it in text.
    @Test func nulCharactersFromProvidersAreNotStored() async throws {
        let url = try await Self.freshDatabaseURL()
        try await FakeProvider.run { fake in
            try await withBackend(["DATABASE_URL": url]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["a\u{0}b", "c"]), contentType: "text/event-stream"))
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(sse.types.last == "complete")
                let page = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token)
                #expect(page.data?["messages"]?.array?.last?["content"]?.string == "abc")
            }
        }
    }

    @Test func concurrentFirstRegistrationsMakeExactlyOneAdmin() async throws {
        let url = try await Self.freshDatabaseURL()
        try await withBackend(["DATABASE_URL": url, "APP_MODE": "single"]) { backend, client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        Int(
                            try await client.call(.post, "/api/auth/register", json: ["username": "racer\(index)", "password": "password1"]).status
                                .code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 403 }.count == 5)
            #expect(try await backend.users.count() == 1)
        }
    }
}
