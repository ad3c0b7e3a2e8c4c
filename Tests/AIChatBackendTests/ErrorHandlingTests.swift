import AIChatCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import AIChatBackend

@Suite struct ErrorHandlingTests {
    @Test func unknownRoutesAnswerInTheEnvelope() async throws {
        try await withBackend { _, client in
            let reply = try await client.call(.get, "/api/nope")
            #expect(reply.status == .notFound)
            #expect(reply.json == .object(["success": .bool(false), "error": .string("Route GET /api/nope not found")]))
            #expect(try await client.call(.patch, "/api/auth/login").error == "Route PATCH /api/auth/login not found")
        }
    }

    @Test func crossOriginErrorsKeepTheirStatusAndCORSHeaders() async throws {
        try await withBackend(["CORS_ORIGIN": "https://chat.example.com"]) { _, client in
            let reply = try await client.call(
                .post, "/api/auth/login", json: ["username": "nobody", "password": "password1"], headers: [.origin: "https://chat.example.com"]
            )
            #expect(reply.status == .unauthorized)
            #expect(reply.error == "Invalid username or password")
            #expect(reply.headers[.accessControlAllowOrigin] == "https://chat.example.com")
            #expect(reply.headers[.accessControlAllowCredentials] == "true")
        }
    }

    @Test func malformedBodiesAre400() async throws {
        try await withBackend { _, client in
            let broken = try await client.call(.post, "/api/auth/login", raw: #"{"username": "a", "#)
            #expect(broken.status == .badRequest)
            #expect(broken.error == "Malformed JSON body")
            let form = try await client.call(.post, "/api/auth/login", raw: "username=a&password=b", contentType: "application/x-www-form-urlencoded")
            #expect(form.status == .badRequest)
            #expect(form.error == "Content-Type must be application/json")
            let array = try await client.call(.post, "/api/auth/login", raw: "[1,2]")
            #expect(array.error == "Request body must be a JSON object")
            let empty = try await client.call(.post, "/api/auth/login", raw: "")
            #expect(empty.status == .badRequest)
        }
    }

    /// Small JSON routes take 64 KiB; the sends take MAX_BODY_BYTES (images).
    @Test func oversizedBodiesAre413() async throws {
        try await withBackend(["MAX_BODY_BYTES": "200000"]) { _, client in
            let reply = try await client.call(
                .post, "/api/auth/register", json: ["username": "alice", "password": String(repeating: "a1", count: 40000)])
            #expect(reply.status == .contentTooLarge)
            #expect(reply.error == "Request body too large")
            let token = try await client.register("alice")
            let send = ["sessionId": 1, "content": String(repeating: "x", count: 100_000)] as [String: Any]
            #expect(try await client.call(.post, "/api/chat/completion", json: send, token: token).status == .notFound)
            let tooLarge = ["sessionId": 1, "content": String(repeating: "x", count: 250_000)] as [String: Any]
            #expect(try await client.call(.post, "/api/chat/completion", json: tooLarge, token: token).status == .contentTooLarge)
        }
    }

    /// Every JSON endpoint answers wrong shapes with a 4xx in the envelope, never a 500.
    @Test func noInputProducesA500() async throws {
        try await withBackend { _, client in
            let admin = try await client.register("admin")
            let endpoints: [(HTTPRequest.Method, String)] = [
                (.post, "/api/auth/register"), (.post, "/api/auth/login"), (.put, "/api/auth/password"),
                (.post, "/api/users"), (.put, "/api/users/1/role"), (.put, "/api/users/1/password"),
                (.put, "/api/settings/system"), (.put, "/api/settings/personal"),
            ]
            let bodies = [
                "null", "true", "\"text\"", "123", "{}", #"{"username":[],"password":{}}"#,
                #"{"role":5,"newPassword":1e400,"currentPassword":null}"#, #"{"context_token_limit":"lots","theme":7}"#,
                #"{"brand_text":{"a":1},"usage_emit":"false","provider_timeout_ms":1e308}"#, "\u{0}", "{\"a\":\"\\ud800\"}",
            ]
            for (method, uri) in endpoints {
                for body in bodies {
                    let reply = try await client.call(method, uri, raw: body, token: admin)
                    // An object without any known key is a valid no-op update for the settings endpoints.
                    let relevantKey = uri == "/api/settings/system" ? "brand_text" : "context_token_limit"
                    let parsed = try? JSONValue.parse(Data(body.utf8))
                    let noOp = uri.hasPrefix("/api/settings") && parsed?.object != nil && !body.contains(relevantKey)
                    if noOp {
                        #expect(reply.status == .ok, "\(method) \(uri) \(body) → \(reply.status.code) \(reply.json)")
                    } else {
                        #expect((400..<500).contains(reply.status.code), "\(method) \(uri) \(body) → \(reply.status.code) \(reply.json)")
                        #expect(reply.json["success"]?.bool == false)
                        #expect(reply.error?.isEmpty == false)
                    }
                }
            }
        }
    }

    /// Whole numbers that do not fit in Int (2^63 is what Double(Int.max) rounds to) are refused like any other
    /// out-of-range value; converting them would stop the process.
    @Test func integersBeyondIntAre400() async throws {
        try await withBackend { _, client in
            let admin = try await client.register("admin")
            let huge = ["9223372036854775808", "-9223372036854775809", "1e300", "18446744073709551616"]
            for number in huge {
                let requests: [(HTTPRequest.Method, String, String)] = [
                    (.post, "/api/chat/stream", #"{"sessionId":\#(number),"content":"hi"}"#),
                    (.post, "/api/chat/regenerate", #"{"sessionId":1,"messageId":\#(number)}"#),
                    (.put, "/api/catalog/models/tags", #"{"connectionId":\#(number),"rawId":"m","tags":[]}"#),
                    (.delete, "/api/catalog/models/tags", #"{"items":[{"connectionId":\#(number),"rawId":"m"}]}"#),
                    (.post, "/api/catalog/models/overrides", #"{"overrides":[{"connectionId":\#(number),"rawId":"m","tags":[]}]}"#),
                    (.put, "/api/settings/system", #"{"max_context_tokens":\#(number)}"#),
                    (.post, "/api/sessions", #"{"connectionId":\#(number),"modelId":"m"}"#),
                ]
                for (method, uri, body) in requests {
                    let reply = try await client.call(method, uri, raw: body, token: admin)
                    #expect((400..<500).contains(reply.status.code), "\(method) \(uri) \(body) → \(reply.status.code) \(reply.json)")
                    #expect(reply.json["success"]?.bool == false)
                }
            }
            #expect(try await client.call(.get, "/api/settings/health").status == .ok)
        }
    }

    /// U+0000 cannot be stored by PostgreSQL and has no place in chat text: refused in any request body, on every
    /// store; the six characters `\u0000` written as text (an escaped backslash) are ordinary text.
    @Test func nulCharactersInBodiesAre400() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let requests: [(HTTPRequest.Method, String, String)] = [
                    (.put, "/api/sessions/\(chat.sessionId)", #"{"systemPrompt":"a\u0000b"}"#),
                    (.put, "/api/sessions/\(chat.sessionId)", #"{"title":"\u0000"}"#),
                    (.post, "/api/chat/stream", #"{"sessionId":\#(chat.sessionId),"content":"hi\u0000"}"#),
                    (.post, "/api/connections", #"{"provider":"openai","baseUrl":"https://x.example/v1","headers":{"X-A\u0000":"1"}}"#),
                    (.put, "/api/catalog/models/tags", #"{"connectionId":1,"rawId":"m","tags":["a\u0000"]}"#),
                ]
                for (method, uri, body) in requests {
                    let reply = try await client.call(method, uri, raw: body, token: chat.token)
                    #expect(reply.status == .badRequest, "\(uri) \(body) → \(reply.status.code)")
                    #expect(reply.error == "Request body must not contain NUL characters (\\u0000)")
                }
                let literal = try await client.call(
                    .put, "/api/sessions/\(chat.sessionId)", raw: #"{"systemPrompt":"printf(\"\\u0000\")"}"#, token: chat.token)
                #expect(literal.status == .ok)
                #expect(literal.data?["systemPrompt"]?.string == #"printf("\u0000")"#)
            }
        }
    }

    @Test func errorsNeverCarryInternals() async throws {
        try await withBackend { backend, client in
            let admin = try await client.register("admin")
            await backend.database.close()
            let reply = try await client.call(.get, "/api/users", token: admin)
            #expect(reply.status == .internalServerError)
            #expect(reply.json == .object(["success": .bool(false), "error": .string("Internal server error")]))
        }
    }
}
