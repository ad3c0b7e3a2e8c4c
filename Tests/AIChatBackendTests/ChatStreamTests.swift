import AIChatCore
import Foundation
import HummingbirdTesting
import SQLKit
import Testing

@testable import AIChatBackend

@Suite struct ChatStreamTests {
    @Test func streamsPersistsAndFollowsTheOriginalEventOrder() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["Hel", "lo", "!"], reasoning: ["Think", "ing"]), contentType: "text/event-stream"))
                let (status, sse, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "Hi there"], token: chat.token)
                #expect(status == .ok)
                #expect(sse.types.first == "start")
                #expect(sse.types.last == "complete")
                #expect(sse.types.contains("end"))
                #expect(sse.content == "Hello!")
                #expect(sse.reasoning == "Thinking")
                #expect(sse.first("stop")?["reason"]?.string == "stop")
                let userId = try #require(sse.first("start")?["messageId"]?.int)
                let final = try #require(sse.last("usage")?["usage"])
                #expect(final["prompt_tokens"]?.int == 12)
                #expect(final["completion_tokens"]?.int == 5)
                #expect(final["context_limit"]?.int == 4000)
                #expect(sse.events.contains { $0["type"]?.string == "reasoning" && $0["done"]?.bool == true })

                // The upstream request: streaming with usage requested, the key in the header, history without the answer.
                let sent = try #require(fake.chatRequests.last)
                #expect(sent.path == "/v1/chat/completions")
                #expect(sent.headers["authorization"] == "Bearer sk-test-secret-key-123456")
                #expect(sent.json?["stream"]?.bool == true)
                #expect(sent.json?["stream_options"]?["include_usage"]?.bool == true)
                #expect(sent.json?["temperature"] == nil)
                #expect(sent.json?["messages"]?.array?.count == 1)

                let page = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token)
                let stored = try #require(page.data?["messages"]?.array)
                #expect(stored.count == 2)
                #expect(stored[0]["id"]?.int == userId)
                #expect(stored[1]["content"]?.string == "Hello!")
                #expect(stored[1]["reasoning"]?.string == "Thinking")
                #expect(stored[1]["parentId"]?.int == userId)
                // Each answer carries the usage recorded for it; questions have none.
                #expect(stored[1]["usage"]?["total_tokens"]?.int == 17)
                #expect(stored[1]["usage"]?["prompt_tokens"]?.int == 12)
                #expect(stored[0]["usage"] == nil)
                #expect(sse.last("complete")?["assistantMessageId"]?.int == stored[1]["id"]?.int)
                let usage = try await client.call(.get, "/api/chat/usage?sessionId=\(chat.sessionId)", token: chat.token)
                #expect(usage.data?["totals"]?["total_tokens"]?.int == 17)
                #expect(usage.data?["last_round"]?["provider"]?.string == "127.0.0.1")
                // The title came from the first message.
                #expect(try await client.call(.get, "/api/sessions/\(chat.sessionId)", token: chat.token).data?["title"]?.string == "Hi there")

                // A second turn sends the first exchange as history.
                fake.enqueue(.chunks(FakeStreams.openAI(["Again"]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "Hi there"], token: chat.token)
                let history = try #require(fake.chatRequests.last?.json?["messages"]?.array)
                #expect(history.map { $0["role"]?.string } == ["user", "assistant", "user"])
                #expect(history[1]["content"]?.string == "Hello!")
                _ = backend
            }
        }
    }

    @Test func sameClientMessageIdNeverAnswersTwice() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["Only once"]), contentType: "text/event-stream"))
                let body: [String: Any] = ["sessionId": chat.sessionId, "content": "Repeat", "clientMessageId": "c-1"]
                let (_, first, _) = try await client.stream("/api/chat/stream", json: body, token: chat.token)
                let (_, second, _) = try await client.stream("/api/chat/stream", json: body, token: chat.token)
                #expect(first.content == "Only once")
                #expect(second.content == "Only once")
                #expect(second.types.last == "complete")
                #expect(first.first("start")?["messageId"] == second.first("start")?["messageId"])
                #expect(fake.chatRequests.count == 1)
                let page = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token)
                #expect(page.data?["messages"]?.array?.count == 2)
                // Identical text without an id is a new turn (no time-window merging).
                fake.enqueue(.chunks(FakeStreams.openAI(["Two"]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "Repeat"], token: chat.token)
                #expect(
                    try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token).data?["messages"]?.array?.count
                        == 4)
                _ = backend
            }
        }
    }

    @Test func thinkTagsSplitAcrossChunksBecomeReasoning() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["<thi", "nk>plan it</th", "ink>Answer"]), contentType: "text/event-stream"))
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(sse.reasoning == "plan it")
                #expect(sse.content == "Answer")
            }
        }
    }

    /// A provider that keeps sending is cut off at MAX_ANSWER_BYTES: the text so far is streamed and stored, the
    /// error says why, and the rest is never read.
    @Test func answersBeyondTheSizeLimitAreCutOffAndKept() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["MAX_ANSWER_BYTES": "2048"]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let piece = String(repeating: "abcdefgh", count: 16)
                fake.enqueue(
                    .chunks(FakeStreams.openAI(Array(repeating: piece, count: 400)), contentType: "text/event-stream", delay: .milliseconds(5)))
                let started = ContinuousClock.now
                let (status, sse, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "go on"], token: chat.token)
                #expect(status == .ok)
                #expect(sse.types.last == "error")
                #expect(sse.last("error")?["error"]?.string == "The answer was cut off: it grew beyond 2 KB")
                let received = sse.content.utf8.count
                #expect(received > 2048 && received <= 2048 + 3 * piece.utf8.count, "\(received) bytes")
                #expect(started.duration(to: .now) < .seconds(2), "the provider was not read to its end")
                let stored = try #require(
                    try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token).data?["messages"]?.array
                )
                #expect(stored.count == 2)
                #expect(stored.last?["content"]?.string == sse.content)
            }
        }
    }

    /// A response that breaks HTTP mid-way (bad chunk framing, a connection closed inside the body) ends the answer
    /// with a message that names the provider's fault; the text so far is kept.
    @Test func brokenProviderResponsesAreNamed() async throws {
        let event = #"data: {"choices":[{"delta":{"content":"part"}}]}"# + "\n\n"
        let cases = [
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n",
                "The AI provider sent a malformed response"
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 100000\r\n\r\n" + event,
                "The connection to the AI provider closed before the answer was complete"
            ),
        ]
        for (response, message) in cases {
            try await RawServer.run(answering: response) { baseURL in
                try await withBackend { _, client in
                    let (token, sessionId) = try await ChatFixture.session(client, baseURL: baseURL)
                    let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": sessionId, "content": "q"], token: token)
                    #expect(sse.types.last == "error")
                    #expect(sse.last("error")?["error"]?.string == message, "\(sse.events)")
                }
            }
        }
    }

    /// A provider that reads the request and closes the connection without answering may have started (and billed)
    /// the answer: the request is sent exactly once, and the user is told what happened. A stream that breaks after
    /// some text keeps that text, saved with the error status.
    @Test func aRequestWithoutAnswerIsNeverSentAgain() async throws {
        try await RawServer.run(closingAfterTheRequest: { baseURL in
            try await withBackend { _, client in
                let (token, sessionId) = try await ChatFixture.session(client, baseURL: baseURL)
                let before = RawServer.requests(to: baseURL)
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": sessionId, "content": "q"], token: token)
                #expect(
                    sse.last("error")?["error"]?.string == "The connection to the AI provider closed before the answer was complete", "\(sse.events)")
                try await Task.sleep(for: .milliseconds(300))
                #expect(RawServer.requests(to: baseURL) - before == 1, "sent exactly once")
            }
        })
        let event = #"data: {"choices":[{"delta":{"content":"part"}}]}"# + "\n\n"
        let cut = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 100000\r\n\r\n" + event
        try await RawServer.run(answering: cut) { baseURL in
            try await withBackend { _, client in
                let (token, sessionId) = try await ChatFixture.session(client, baseURL: baseURL)
                let before = RawServer.requests(to: baseURL)
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": sessionId, "content": "q"], token: token)
                #expect(sse.content == "part")
                #expect(sse.types.last == "error")
                #expect(RawServer.requests(to: baseURL) - before == 1, "sent exactly once")
                let page = try await client.call(.get, "/api/chat/sessions/\(sessionId)/messages", token: token)
                let answer = page.data?["messages"]?.array?.first { $0["role"]?.string == "assistant" }
                #expect(answer?["content"]?.string == "part")
                #expect(answer?["status"]?.string == "error")
            }
        }
    }

    @Test func providerErrorsBecomeErrorEventsWithoutSecrets() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.status(401, body: #"{"error":{"message":"Incorrect API key provided: sk-test-secret-key-123456"}}"#))
                let (status, sse, raw) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(status == .ok)
                #expect(sse.types.first == "start")
                #expect(sse.types.last == "error")
                #expect(sse.last("error")?["error"]?.string?.hasPrefix("AI API request failed: 401") == true)
                #expect(!raw.contains("sk-test-secret"))
                // The user message stays so the client can retry.
                #expect(
                    try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token).data?["messages"]?.array?.count
                        == 1)
            }
        }
    }

    /// A server that cannot stream (an error to the streamed request) is asked once without streaming: the answer
    /// arrives as content, is stored and counted like a streamed one. A refused key is not asked twice.
    @Test func serversThatCannotStreamAreAskedOnceWithoutStreaming() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(
                    .status(400, body: #"{"error":{"message":"stream is not supported by this server"}}"#),
                    .status(
                        200,
                        body:
                            #"{"choices":[{"message":{"role":"assistant","content":"Whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#
                    )
                )
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(sse.types.first == "start")
                #expect(sse.types.last == "complete")
                #expect(!sse.types.contains("error"))
                #expect(sse.content == "Whole answer")
                let requests = fake.chatRequests
                #expect(requests.count == 2)
                #expect(requests.first?.json?["stream"]?.bool == true)
                #expect(requests.last?.json?["stream"]?.bool != true)
                let stored = try #require(
                    try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token).data?["messages"]?.array)
                #expect(stored.count == 2)
                #expect(stored.last?["content"]?.string == "Whole answer")
                #expect(sse.last("complete")?["assistantMessageId"]?.int == stored.last?["id"]?.int)
                let usage = try await client.call(.get, "/api/chat/usage?sessionId=\(chat.sessionId)", token: chat.token)
                #expect(usage.data?["totals"]?["total_tokens"]?.int == 5)

                // A refused key fails the same way without streaming: one request, an error event.
                fake.enqueue(.status(401, body: #"{"error":{"message":"bad key"}}"#))
                let (_, refused, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "again"], token: chat.token)
                #expect(refused.types.last == "error")
                #expect(fake.chatRequests.count == 3)

                // When the second request fails too, the first failure is what the user sees.
                fake.enqueue(.status(400, body: #"{"error":{"message":"first failure"}}"#), .status(500, body: "second failure"))
                let (_, failed, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "third"], token: chat.token)
                #expect(failed.last("error")?["error"]?.string?.contains("first failure") == true)
                #expect(fake.chatRequests.count == 5)
            }
        }
    }

    /// With `title_by_model` on, the first answer is followed by a request for a title, which replaces the one
    /// taken from the first message; a conversation the user renamed keeps its name.
    @Test func theModelNamesANewConversationWhenAllowed() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                #expect(try await client.call(.put, "/api/settings/system", json: ["title_by_model": true], token: chat.token).status == .ok)
                fake.enqueue(
                    .chunks(FakeStreams.openAI(["Kyoto in autumn is lovely."]), contentType: "text/event-stream"),
                    .status(200, body: #"{"choices":[{"message":{"role":"assistant","content":"<think>short</think>\n\"Autumn in Kyoto\"\n"}}]}"#)
                )
                _ = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "Where should I travel in October?"], token: chat.token)
                #expect(
                    try await eventually {
                        try await client.call(.get, "/api/sessions/\(chat.sessionId)", token: chat.token).data?["title"]?.string == "Autumn in Kyoto"
                    }
                )
                let titleRequest = try #require(fake.chatRequests.last?.json)
                #expect(titleRequest["stream"]?.bool != true)
                // The title request is counted in the conversation's totals (estimated: the reply carried no usage),
                // while the last round stays the answer's (12 + 5 tokens).
                #expect(
                    try await eventually {
                        try await client.call(.get, "/api/chat/usage?sessionId=\(chat.sessionId)", token: chat.token).data?["totals"]?[
                            "total_tokens"]?.int ?? 0 > 17
                    }
                )
                let usage = try await client.call(.get, "/api/chat/usage?sessionId=\(chat.sessionId)", token: chat.token)
                #expect(usage.data?["last_round"]?["total_tokens"]?.int == 17, "\(usage.json)")
                let answers = try #require(
                    try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token).data?["messages"]?.array)
                #expect(answers.last?["usage"]?["total_tokens"]?.int == 17)
                #expect(titleRequest["messages"]?.array?.last?["content"]?.string?.contains("Where should I travel in October?") == true)
                // Later turns do not ask again.
                fake.enqueue(.chunks(FakeStreams.openAI(["More."]), contentType: "text/event-stream"))
                _ = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "And November?"], token: chat.token)
                try await Task.sleep(for: .milliseconds(200))
                #expect(fake.chatRequests.count == 3)
                // A conversation renamed meanwhile keeps its name.
                #expect(try await backend.sessions.replaceTitle(id: chat.sessionId, userId: 1, expected: "Where should I", with: "x") == false)
                #expect(try await client.call(.get, "/api/sessions/\(chat.sessionId)", token: chat.token).data?["title"]?.string == "Autumn in Kyoto")
            }
        }
        #expect(TitleGenerator.cleanTitle("Title: **Budget planning**") == "Budget planning")
        #expect(TitleGenerator.cleanTitle("标题：「旅行计划」。") == "旅行计划")
        #expect(TitleGenerator.cleanTitle("  \n ") == nil)
    }

    /// `stream_delta_chunk_size` joins that many content deltas into one event; the text is unchanged.
    @Test func deltaChunkSizeJoinsContentEvents() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let set = try await client.call(.put, "/api/settings/system", json: ["stream_delta_chunk_size": 3], token: chat.token)
                #expect(set.status == .ok)
                fake.enqueue(
                    .chunks(FakeStreams.openAI(["a", "b", "c", "d", "e", "f", "g"]), contentType: "text/event-stream", delay: .milliseconds(5)))
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                let contents = sse.events.filter { $0["type"]?.string == "content" }.compactMap { $0["content"]?.string }
                #expect(contents == ["abc", "def", "g"])
                #expect(sse.types.last == "complete")
            }
        }
    }

    @Test func rateLimitsAreRetriedBeforeTheFirstByte() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(
                    .status(429, body: #"{"error":{"message":"slow down"}}"#, headers: ["Retry-After": "0"]),
                    .status(503, body: "busy"),
                    .chunks(FakeStreams.openAI(["Fine"]), contentType: "text/event-stream")
                )
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(sse.content == "Fine")
                #expect(fake.chatRequests.count == 3)
            }
        }
    }

    @Test func idleProviderTimesOut() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["PROVIDER_MAX_IDLE_MS": "1000"]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.hang)
                let started = ContinuousClock.now
                let (_, sse, _) = try await client.stream("/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(sse.last("error")?["error"]?.string == "The AI provider stopped sending data")
                #expect(started.duration(to: .now) < .seconds(5))
                #expect(try await eventually { fake.closedEarly == 1 })
            }
        }
    }

    @Test func ollamaStreamsNativeNDJSON() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake, provider: "ollama", path: "", model: "llama3")
                fake.enqueue(.chunks(FakeStreams.ollama(["Na", "tive"], thinking: ["hmm"]), contentType: "application/x-ndjson"))
                let (_, sse, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q", "reasoningEnabled": true, "ollamaThink": true],
                    token: chat.token
                )
                #expect(sse.content == "Native")
                #expect(sse.reasoning == "hmm")
                #expect(sse.last("usage")?["usage"]?["completion_tokens"]?.int == 4)
                let sent = try #require(fake.chatRequests.last)
                #expect(sent.path == "/api/chat")
                #expect(sent.json?["think"]?.bool == true)
            }
        }
    }

    @Test func anthropicAndGeminiStreamThroughTheSameEvents() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let anthropic = try await ChatFixture.make(client, fake: fake, provider: "anthropic", path: "", model: "claude-sonnet-4")
                fake.enqueue(.chunks(FakeStreams.anthropic(["Bon", "jour"], thinking: ["consider"]), contentType: "text/event-stream"))
                let (_, first, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": anthropic.sessionId, "content": "q"], token: anthropic.token)
                #expect(first.content == "Bonjour")
                #expect(first.reasoning == "consider")
                #expect(first.last("usage")?["usage"]?["prompt_tokens"]?.int == 21)
                let sentA = try #require(fake.chatRequests.last)
                #expect(sentA.path == "/v1/messages")
                #expect(sentA.headers["x-api-key"] == "sk-test-secret-key-123456")
                #expect(sentA.headers["authorization"] == nil)
                #expect(sentA.json?["max_tokens"]?.int != nil)

                let session = try await client.call(
                    .post, "/api/sessions", json: ["connectionId": anthropic.connectionId, "rawId": "claude-sonnet-4"], token: anthropic.token
                )
                _ = session
                let google = try await client.call(
                    .post, "/api/connections",
                    json: ["provider": "google", "baseUrl": fake.baseURL, "apiKey": "AIza-test-key-000000000", "modelIds": ["gemini-2.5-flash"]],
                    token: anthropic.token
                )
                let googleId = try #require(google.data?["id"]?.int)
                let geminiSession = try #require(
                    try await client.call(
                        .post, "/api/sessions", json: ["connectionId": googleId, "rawId": "gemini-2.5-flash"], token: anthropic.token
                    ).data?["id"]?.int
                )
                fake.enqueue(.chunks(FakeStreams.gemini(["Hal", "lo"], thoughts: ["hmm"]), contentType: "text/event-stream"))
                let (_, second, _) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": geminiSession, "content": "q"], token: anthropic.token)
                #expect(second.content == "Hallo")
                #expect(second.reasoning == "hmm")
                #expect(second.last("usage")?["usage"]?["total_tokens"]?.int == 14)
                let sentG = try #require(fake.chatRequests.last)
                #expect(sentG.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent")
                #expect(sentG.query == "alt=sse")
                #expect(sentG.headers["x-goog-api-key"] == "AIza-test-key-000000000")
            }
        }
    }

    @Test func keepAlivesFlowWhileWaitingForTheProvider() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["SSE_HEARTBEAT_INTERVAL_MS": "1000"]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["late"]), contentType: "text/event-stream", firstDelay: .milliseconds(1500)))
                let (_, sse, raw) = try await client.stream(
                    "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "q"], token: chat.token)
                #expect(sse.content == "late")
                #expect(sse.pings >= 1)
                let firstPing = try #require(raw.range(of: ": ping"))
                let firstContent = try #require(raw.range(of: #""type":"content""#))
                #expect(firstPing.lowerBound < firstContent.lowerBound)
            }
        }
    }

    @Test func badChatInputIs4xx() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let cases: [([String: Any], String)] = [
                    (["content": "x"], "sessionId is required"),
                    (["sessionId": chat.sessionId], "content is required"),
                    (["sessionId": chat.sessionId, "content": "   "], "content must not be empty"),
                    (["sessionId": "1", "content": "x"], "sessionId must be a number, not string"),
                    (
                        ["sessionId": chat.sessionId, "content": "x", "images": [["data": "AAAA", "mime": "text/html"]]],
                        "images type text/html is not supported (png, jpeg, webp, gif)"
                    ),
                    (["sessionId": chat.sessionId, "content": "x", "images": [["data": "***", "mime": "image/png"]]], "images data must be Base64"),
                    (
                        ["sessionId": chat.sessionId, "content": "x", "images": Array(repeating: ["data": "AAAA", "mime": "image/png"], count: 5)],
                        "images may hold at most 4 images"
                    ),
                    (["sessionId": chat.sessionId, "content": "x", "reasoningEffort": "max"], "reasoningEffort must be one of: low, medium, high"),
                    (
                        ["sessionId": chat.sessionId, "content": "x", "clientMessageId": String(repeating: "a", count: 129)],
                        "clientMessageId must be at most 128 characters"
                    ),
                ]
                for (body, message) in cases {
                    let reply = try await client.call(.post, "/api/chat/stream", json: body, token: chat.token)
                    #expect(reply.status == .badRequest, "\(body)")
                    #expect(reply.error == message)
                }
                #expect(
                    try await client.call(.post, "/api/chat/stream", json: ["sessionId": 999, "content": "x"], token: chat.token).status == .notFound)
                #expect(fake.chatRequests.isEmpty)
            }
        }
    }

    @Test func imagesAreSentAndStored() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                fake.enqueue(.chunks(FakeStreams.openAI(["A cat"]), contentType: "text/event-stream"))
                let png = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).base64EncodedString()
                _ = try await client.stream(
                    "/api/chat/stream",
                    json: ["sessionId": chat.sessionId, "content": "What is it?", "images": [["data": png, "mime": "image/png"]]], token: chat.token
                )
                let parts = try #require(fake.chatRequests.last?.json?["messages"]?[0]?["content"]?.array)
                #expect(parts.contains { $0["image_url"]?["url"]?.string == "data:image/png;base64,\(png)" })
                let stored = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token)
                #expect(stored.data?["messages"]?[0]?["images"]?[0]?["mime"]?.string == "image/png")
            }
        }
    }
}

/// The title a conversation gets from its first message.
@Suite struct ChatTitleTests {
    @Test func titlesDropCodeImagesAndMarkdown() {
        #expect(ChatController.title(from: "Hi there") == "Hi there")
        #expect(ChatController.title(from: "## Trip\n> to **Kyoto**\n- soon") == "Trip to **Kyoto** soon")
        #expect(ChatController.title(from: "```swift\nlet x = 1\n```\nWhat does this do?") == "What does this do?")
        #expect(ChatController.title(from: "Look ![a cat](https://x/c.png) here") == "Look  here")
        #expect(ChatController.title(from: "![only](i.png)\nsecond line") == "second line")
        // Not an image: kept as written.
        #expect(ChatController.title(from: "Wow! [link](u) and ![alt] (x)") == "Wow! [link](u) and ![alt] (x)")
        #expect(ChatController.title(from: "  \t\n```\nunclosed code") == "")
        #expect(ChatController.title(from: String(repeating: "长", count: 40)) == String(repeating: "长", count: 30))
        #expect(ChatController.title(from: "- - # ") == "")
    }
}
