import AIChatCore
import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import SQLKit
import Testing

@testable import AIChatBackend

@Suite struct ChatJobTests {
    static func slowAnswer(_ pieces: Int, delay: Duration = .milliseconds(60)) -> FakeProvider.Reply {
        .chunks(FakeStreams.openAI((0..<pieces).map { "w\($0) " }), contentType: "text/event-stream", delay: delay)
    }

    @Test func stopCancelsUpstreamAndKeepsThePartialAnswer() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(Self.slowAnswer(200))
                let port = try #require(client.port)
                let stream = try await LiveStream.open(
                    port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "long"], token: chat.token)
                _ = try await stream.read { $0.contains("w2 ") }
                let stop = try await client.call(.post, "/api/chat/stop", json: ["sessionId": chat.sessionId], token: chat.token)
                #expect(stop.json["message"]?.string == "Generation stopped")
                let rest = SSEBody(try await stream.read { _ in false })
                #expect(rest.first("stop")?["reason"]?.string == "cancelled")
                #expect(rest.types.last == "complete")
                #expect(try await eventually { fake.closedEarly == 1 })
                let messages = try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items
                #expect(messages.count == 2)
                #expect(messages[1].status == .stopped)
                #expect(messages[1].content.hasPrefix("w0 w1 w2"))
                #expect(!messages[1].content.contains("w199"))
                #expect(backend.registry.job(sessionId: chat.sessionId) == nil)
            }
        }
    }

    /// Clearing a chat's messages or deleting the chat while its answer is written stops the answer at once and
    /// saves nothing of it (no message, no usage row).
    @Test func clearingOrDeletingAChatStopsItsAnswer() async throws {
        for path in ["messages", ""] {
            try await FakeProvider.run { fake in
                try await withBackend(["APP_MODE": "multi"]) { backend, client in
                    let chat = try await ChatFixture.make(client, fake: fake)
                    fake.enqueue(Self.slowAnswer(200))
                    let port = try #require(client.port)
                    let stream = try await LiveStream.open(
                        port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "long"], token: chat.token
                    )
                    _ = try await stream.read { $0.contains("w2 ") }
                    let uri = "/api/sessions/\(chat.sessionId)" + (path.isEmpty ? "" : "/\(path)")
                    // Someone else's delete of the same id changes nothing.
                    let other = try await chat.registerAnother("mallory", client)
                    #expect(try await client.call(.delete, uri, token: other).status == .notFound)
                    #expect(backend.registry.job(sessionId: chat.sessionId) != nil)

                    #expect(try await client.call(.delete, uri, token: chat.token).status == .ok)
                    #expect(backend.registry.job(sessionId: chat.sessionId) == nil)
                    let rest = SSEBody(try await stream.read { _ in false })
                    #expect(rest.first("stop")?["reason"]?.string == "cancelled")
                    #expect(try await eventually { fake.closedEarly == 1 })
                    #expect(try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items.isEmpty)
                    let usageRows = try await backend.database.read { sql in
                        try await sql.raw("SELECT COUNT(*) AS \"n\" FROM \"usage_metrics\" WHERE \"sessionId\" = \(bind: chat.sessionId)").first()?
                            .decode(column: "n", as: Int.self)
                    }
                    #expect(usageRows == 0)
                }
            }
        }
    }

    /// Deleting a user stops the answers being written for them before their chats go.
    @Test func deletingAUserStopsTheirAnswers() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi"]) { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let bob = try await chat.registerAnother("bob", client)
                let session = try await client.call(
                    .post, "/api/sessions", json: ["connectionId": chat.connectionId, "rawId": "gpt-test"], token: bob)
                let sessionId = try #require(session.data?["id"]?.int, "\(session.json)")
                fake.enqueue(Self.slowAnswer(200))
                let stream = try await LiveStream.open(
                    port: try #require(client.port), path: "/api/chat/stream", json: ["sessionId": sessionId, "content": "long"], token: bob
                )
                _ = try await stream.read { $0.contains("w2 ") }
                let bobId = try #require(try await backend.users.find(username: "bob")?.id)
                #expect(try await client.call(.delete, "/api/users/\(bobId)", token: chat.token).status == .ok)
                #expect(backend.registry.job(sessionId: sessionId) == nil)
                #expect(try await eventually { fake.closedEarly == 1 })
            }
        }
    }

    /// HTTP_IDLE_TIMEOUT_S closes connections without a request in progress (an unfinished request head, a
    /// kept-alive connection after its response) but never an answer that is still streaming.
    @Test func idleConnectionsCloseButAnswerStreamsDoNot() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["HTTP_IDLE_TIMEOUT_S": "1"]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let port = try #require(client.port)
                let unfinished = try await RawClient.sendAndAwaitClose(
                    port: port, "GET /api/settings/health HTTP/1.1\r\nHost: x\r\n", limit: .seconds(5))
                #expect(unfinished != nil, "a request head that never ends keeps the connection open")
                let kept = try await RawClient.sendAndAwaitClose(
                    port: port, "GET /api/settings/health HTTP/1.1\r\nHost: x\r\n\r\n", limit: .seconds(5))
                #expect(kept?.received.hasPrefix("HTTP/1.1 200") == true)
                #expect(kept.map { $0.after >= .milliseconds(900) } == true, "closed only after the idle time")

                // (The test client's own kept-alive connection has been closed by now, so the stream uses another client.)
                fake.enqueue(Self.slowAnswer(25, delay: .milliseconds(100)))
                let stream = try await LiveStream.open(
                    port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "slow"], token: chat.token)
                let sse = SSEBody(try await stream.read { _ in false })
                #expect(sse.types.last == "complete")
                #expect(sse.content.hasSuffix("w24 "))
            }
        }
    }

    /// One answer can be watched from at most 32 places at once; the next gets a 429 until one goes away.
    @Test func watchersOfOneAnswerAreBounded() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(Self.slowAnswer(200))
                let port = try #require(client.port)
                // A client of its own: the shared one opens only a few connections to one host at a time.
                var configuration = HTTPClient.Configuration()
                configuration.connectionPool = .init(idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
                func open(_ path: String, json: [String: Any]? = nil) async throws -> LiveStream {
                    try await LiveStream.open(port: port, path: path, json: json, token: chat.token, client: http)
                }
                func watch() async throws -> LiveStream { try await open("/api/chat/sessions/\(chat.sessionId)/stream") }
                var watchers = [try await open("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "long"])]
                for _ in 1..<GenerationJob.maxWatchers {
                    let watcher = try await watch()
                    #expect(watcher.response.status == .ok)
                    watchers.append(watcher)
                }
                let refused = try await watch()
                #expect(refused.response.status == .tooManyRequests)
                #expect(try await refused.read { _ in false }.contains("open in too many places"))
                // One watcher leaves: there is room again.
                watchers.removeLast()
                #expect(
                    try await eventually {
                        let retry = try await watch()
                        if retry.response.status == .ok { watchers.append(retry) }
                        return retry.response.status == .ok
                    }
                )
                watchers.removeAll()
                try await http.shutdown()
            }
        }
    }

    @Test func answersSurviveADisconnectAndCanBeReattached() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(Self.slowAnswer(12, delay: .milliseconds(40)))
                let port = try #require(client.port)
                do {
                    let first = try await LiveStream.open(
                        port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                    _ = try await first.read { $0.contains("w1 ") }
                }  // the first client goes away mid-answer
                let again = try await LiveStream.open(port: port, path: "/api/chat/sessions/\(chat.sessionId)/stream", json: nil, token: chat.token)
                #expect(again.response.status == .ok)
                let sse = SSEBody(try await again.read { _ in false })
                #expect(sse.types.first == "start")
                #expect(sse.content == (0..<12).map { "w\($0) " }.joined())
                #expect(sse.types.last == "complete")
                let stored = try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items
                #expect(stored.last?.content == (0..<12).map { "w\($0)" }.joined(separator: " "))
                #expect(stored.last?.status == nil)
                #expect(fake.closedEarly == 0)
                // Nothing running: 204.
                #expect(try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/stream", token: chat.token).status == .noContent)
            }
        }
    }

    /// While an answer streams, its partial text is written at least once a second (not listed while it runs); a
    /// server that dies mid-answer leaves that row, and the next start marks it interrupted and shows its text.
    @Test func aCrashLosesAtMostASecondOfAnAnswer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeProvider.run { fake in
            try await withBackend(directory: directory) { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(Self.slowAnswer(60, delay: .milliseconds(100)))
                let port = try #require(client.port)
                let live = try await LiveStream.open(
                    port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                _ = try await live.read { $0.contains("w5 ") }
                // Watchers get the running answer from its job: the partial row is not listed.
                #expect(try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items.count == 1)
                let written = try await eventually(.seconds(3)) {
                    let rows = try await backend.database.read { sql in
                        try await sql.raw(#"SELECT "content", "status" FROM "messages" WHERE "role" = 'assistant'"#).all()
                    }
                    return try rows.first?.optionalString("status") == "streaming" && rows.first?.string("content").hasPrefix("w0 w1 ") == true
                }
                #expect(written, "a checkpoint within a second or so")
                // The server "dies" here: a new one starts on the same database without the first one saving.
                let configuration = try BackendConfiguration(env: TestEnv.values(directory: directory.path))
                let restarted = try await Backend.make(configuration: configuration, logger: TestEnv.logger)
                let stored = try await restarted.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items
                await restarted.shutdown()
                let answer = try #require(stored.first { $0.role == .assistant })
                #expect(answer.status == .interrupted)
                #expect(answer.content.hasPrefix("w0 w1 w2 w3 w4 w5"))
            }
        }
    }

    @Test func shutdownSavesWhatWasProduced() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(Self.slowAnswer(500))
                let port = try #require(client.port)
                let stream = try await LiveStream.open(
                    port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                _ = try await stream.read { $0.contains("w1 ") }
                await backend.registry.drain(grace: .milliseconds(100))
                let stored = try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items
                #expect(stored.count == 2)
                #expect(stored[1].status == .stopped)
                #expect(stored[1].content.hasPrefix("w0 w1"))
                let rest = SSEBody(try await stream.read { _ in false })
                #expect(rest.types.last == "complete")
                // While draining, new answers are refused cleanly.
                let refused = try await client.call(
                    .post, "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "more"], token: chat.token)
                #expect(refused.status == .serviceUnavailable)
                // The answer starts inside the message's transaction: a refused one leaves no unanswered message.
                #expect(try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items.count == 2)
            }
        }
    }

    @Test func secondMessageWhileAnsweringIsAConflict() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(Self.slowAnswer(30))
                let port = try #require(client.port)
                let stream = try await LiveStream.open(
                    port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "a", "clientMessageId": "m1"],
                    token: chat.token)
                _ = try await stream.read { $0.contains("w0 ") }
                let busy = try await client.call(.post, "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "b"], token: chat.token)
                #expect(busy.status == .conflict)
                // The same message again attaches to the running answer instead.
                let same = try await LiveStream.open(
                    port: port, path: "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "a", "clientMessageId": "m1"],
                    token: chat.token)
                let sse = SSEBody(try await same.read { _ in false })
                #expect(sse.types.last == "complete")
                #expect(fake.chatRequests.count == 1)
                _ = try await stream.read { _ in false }
            }
        }
    }

    @Test func regenerateKeepsTheOldAnswerAsAVersion() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["First"]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                let first = try #require(try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items.last)
                fake.enqueue(.chunks(FakeStreams.openAI(["Second"]), contentType: "text/event-stream"))
                let (_, sse, _) = try await client.stream(
                    "/api/chat/regenerate", json: ["sessionId": chat.sessionId, "messageId": first.id], token: chat.token)
                #expect(sse.content == "Second")
                let all = try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items
                #expect(all.map(\.content) == ["q", "First", "Second"])
                #expect(all[1].parentId == all[2].parentId)
                // The regenerated request did not include the old answer; the history now uses the new version.
                #expect(fake.chatRequests.last?.json?["messages"]?.array?.count == 1)
                let history = try await backend.messages.history(sessionId: chat.sessionId, excluding: nil, limit: 10)
                #expect(history.map(\.content) == ["q", "Second"])
                #expect(
                    try await client.call(.post, "/api/chat/regenerate", json: ["sessionId": chat.sessionId, "messageId": 999], token: chat.token)
                        .error == "Message not found")
            }
        }
    }

    /// A new version of an earlier answer keeps that answer's place in the conversation sent to the model.
    @Test func regeneratedEarlierAnswersKeepTheirPlaceInTheHistory() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                for (question, answer) in [("q1", "a1"), ("q2", "a2")] {
                    fake.enqueue(.chunks(FakeStreams.openAI([answer]), contentType: "text/event-stream"))
                    _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": question], token: chat.token)
                }
                let firstAnswer = try #require(
                    try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items.first { $0.content == "a1" })
                fake.enqueue(.chunks(FakeStreams.openAI(["a1 again"]), contentType: "text/event-stream"))
                _ = try await client.stream(
                    "/api/chat/regenerate", json: ["sessionId": chat.sessionId, "messageId": firstAnswer.id], token: chat.token)
                // Regenerating the first answer sends only what precedes it.
                #expect(fake.chatRequests.last?.json?["messages"]?.array?.compactMap { $0["content"]?.string } == ["q1"])
                fake.enqueue(.chunks(FakeStreams.openAI(["a3"]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q3"], token: chat.token)
                let sent = fake.chatRequests.last?.json?["messages"]?.array?.compactMap { $0["content"]?.string }
                #expect(sent == ["q1", "a1 again", "q2", "a2", "q3"])
            }
        }
    }

    @Test func editAndResendReplacesTheTail() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                for answer in ["A1", "A2"] {
                    fake.enqueue(.chunks(FakeStreams.openAI([answer]), contentType: "text/event-stream"))
                    _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "Q-\(answer)"], token: chat.token)
                }
                let firstQuestion = try #require(try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items.first)
                fake.enqueue(.chunks(FakeStreams.openAI(["Edited answer"]), contentType: "text/event-stream"))
                let (_, sse, _) = try await client.stream(
                    "/api/chat/edit", json: ["sessionId": chat.sessionId, "messageId": firstQuestion.id, "content": "Better question"],
                    token: chat.token
                )
                #expect(sse.content == "Edited answer")
                let all = try await backend.messages.page(sessionId: chat.sessionId, page: 1, limit: 10).items
                #expect(all.map(\.content) == ["Better question", "Edited answer"])
            }
        }
    }

    @Test func completionWaitsForTheWholeAnswer() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["Whole ", "answer"]), contentType: "text/event-stream"))
                let reply = try await client.call(
                    .post, "/api/chat/completion", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(reply.status == .ok)
                #expect(reply.data?["content"]?.string == "Whole answer")
                #expect(reply.data?["usage"]?["total_tokens"]?.int == 17)
                // As the original: the budget and what is left of it after the prompt.
                let limit = try #require(reply.data?["usage"]?["context_limit"]?.int)
                let prompt = try #require(reply.data?["usage"]?["prompt_tokens"]?.int)
                #expect(reply.data?["usage"]?["context_remaining"]?.int == max(0, limit - prompt))
                fake.enqueue(.status(500, body: "boom"), .status(500, body: "boom"), .status(500, body: "boom"))
                let failed = try await client.call(
                    .post, "/api/chat/completion", json: ["sessionId": chat.sessionId, "content": "q2"], token: chat.token)
                #expect(failed.status == .badGateway)
                #expect(failed.error?.hasPrefix("AI API request failed: 500") == true)
            }
        }
    }

    @Test func messagesArePagedNewestFirst() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                for index in 0..<7 {
                    _ = try await backend.messages.insertUser(
                        sessionId: chat.sessionId, userId: 1, content: "m\(index)", clientMessageId: nil, images: [], retitle: nil)
                }
                let newest = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages?limit=3", token: chat.token)
                #expect(newest.data?["messages"]?.array?.compactMap { $0["content"]?.string } == ["m4", "m5", "m6"])
                #expect(newest.data?["hasMore"]?.bool == true)
                let firstId = try #require(newest.data?["messages"]?[0]?["id"]?.int)
                let older = try await client.call(
                    .get, "/api/chat/sessions/\(chat.sessionId)/messages?limit=3&beforeId=\(firstId)", token: chat.token)
                #expect(older.data?["messages"]?.array?.compactMap { $0["content"]?.string } == ["m1", "m2", "m3"])
                #expect(older.data?["hasMore"]?.bool == true)
                let page3 = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages?limit=3&page=3", token: chat.token)
                #expect(page3.data?["messages"]?.array?.compactMap { $0["content"]?.string } == ["m0"])
                #expect(page3.data?["hasMore"]?.bool == false)
                #expect(
                    try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages?beforeId=x", token: chat.token).status == .badRequest)
            }
        }
    }
}
