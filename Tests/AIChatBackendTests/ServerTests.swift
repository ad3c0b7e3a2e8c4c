import AIChatCore
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import AIChatBackend

/// The backend's HTTP server as it runs: connections served from their event loop, admission, receive buffers, limits.
@Suite struct ServerTests {
    @Test func responsesCarryDateAndServerHeaders() async throws {
        try await withBackend { _, client in
            let reply = try await client.call(.get, "/api/settings/health")
            #expect(reply.status == .ok)
            #expect(reply.headers[.server] == "aichat-backend")
            let date = try #require(reply.headers[.date])
            #expect(
                date.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/)
                    != nil)
        }
    }

    /// A send may carry images up to MAX_BODY_BYTES; a body many times the read buffer still arrives whole.
    @Test func largeBodiesArriveWhole() async throws {
        try await withBackend { _, client in
            let token = try await client.register("alice")
            let padding = String(repeating: " ", count: 4_000_000)
            let body = #"{"sessionId": 999,\#(padding)"content": "hello"}"#
            let reply = try await client.call(.post, "/api/chat/completion", raw: body, token: token)
            // Parsed whole: the session was looked up (a cut body would be malformed JSON, a 400).
            #expect(reply.status == .notFound)
            #expect(reply.error == "Chat session not found")
        }
    }

    /// Requests sent one after another without waiting are answered in order; `Connection: close` ends the
    /// connection after its response.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withBackend { _, client in
            let port = try #require(client.port)
            let requests = ["/api/settings/health", "/api/nope", "/api/settings/health"].map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }
            let closing = "GET /api/nope/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let reply = try #require(try await RawClient.sendAndAwaitClose(port: port, requests.joined() + closing, limit: .seconds(5)))
            let statuses = reply.received.matches(of: /HTTP\/1\.1 (\d{3})/).map { String($0.output.1) }
            #expect(statuses == ["200", "404", "200", "404"])
            #expect(reply.received.hasSuffix("}") && reply.received.contains(#""error":"Route GET /api/nope/last not found""#))
        }
    }

    /// A request that cannot be parsed gets a 400 and the connection closes.
    @Test func malformedRequestsAreRefused() async throws {
        try await withBackend { _, client in
            let port = try #require(client.port)
            let reply = try #require(try await RawClient.sendAndAwaitClose(port: port, "NOT HTTP AT ALL\r\n\r\n", limit: .seconds(5)))
            #expect(reply.received.hasPrefix("HTTP/1.1 400 Bad Request"))
        }
    }

    /// Each route group has its body limit, applied before the body is read: a declared length over it is a 413 in
    /// the API envelope at once (without waiting for the body), a chunked body over it stops being collected there
    /// (the rest is read and dropped). Small JSON routes take 64 KiB, the sends MAX_BODY_BYTES.
    @Test func oversizedBodiesAreRefused() async throws {
        try await withBackend(["MAX_BODY_BYTES": "200000"]) { _, client in
            let port = try #require(client.port)
            let declared = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            let first = try await RawClient.sendAndCollect(port: port, declared, for: .seconds(1))
            #expect(first.hasPrefix("HTTP/1.1 413"), "\(first)")
            #expect(first.hasSuffix("}") && first.contains(#""error":"Request body too large""#))

            // The declared length is checked before authentication, the sends' larger limit included.
            let send = declared.replacingOccurrences(of: "/api/auth/login", with: "/api/chat/stream")
                .replacingOccurrences(of: "100000", with: "300000")
            let unauthenticated = try await RawClient.sendAndCollect(port: port, send, for: .seconds(1))
            #expect(unauthenticated.hasPrefix("HTTP/1.1 413"))

            let chunk = String(repeating: " ", count: 40000)
            let chunked =
                "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "9C40\r\n\(chunk)\r\n9C40\r\n\(chunk)\r\n0\r\n\r\n"
            let second = try await RawClient.sendAndCollect(port: port, chunked, for: .seconds(1))
            #expect(second.hasPrefix("HTTP/1.1 413"))
            #expect(second.contains("Request body too large"))

            // Under the limit, a chunked body arrives whole.
            let small = #"{"username":"nobody","password":"wrong-password1"}"#
            let fine =
                "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + String(small.utf8.count, radix: 16) + "\r\n\(small)\r\n0\r\n\r\n"
            let third = try #require(try await RawClient.sendAndAwaitClose(port: port, fine, limit: .seconds(5)))
            #expect(third.received.hasPrefix("HTTP/1.1 401"))
        }
    }
}
