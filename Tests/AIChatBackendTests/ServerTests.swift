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
        try await withBackend(live: true) { _, client in
            let reply = try await client.call(.get, "/api/settings/health")
            #expect(reply.status == .ok)
            #expect(reply.headers[.server] == "aichat-backend")
            let date = try #require(reply.headers[.date])
            #expect(date.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/) != nil)
        }
    }

    @Test func httpDatesFollowRFC9110() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(1_795_000_000) == "Wed, 18 Nov 2026 11:06:40 GMT")
    }

    /// Connections start with a small receive buffer; a body many times its size (gathered from many reads)
    /// still arrives whole.
    @Test func largeBodiesArriveWhole() async throws {
        try await withBackend(live: true) { _, client in
            _ = try await client.register("alice")
            let padding = String(repeating: " ", count: 4_000_000)
            let body = #"{"username": "alice",\#(padding)"password": "wrong-password1"}"#
            let reply = try await client.call(.post, "/api/auth/login", raw: body)
            // Parsed whole: the credentials were checked (a cut body would be malformed JSON, a 400).
            #expect(reply.status == .unauthorized)
            #expect(reply.error == "Invalid username or password")
        }
    }

    /// Covered requests are handled at most `permits` at a time; others are not held back.
    @Test func coveredRequestsTakeTurns() async throws {
        struct Gauge {
            var current = 0
            var highest = 0
        }
        let gauges = Mutex<[String: Gauge]>([:])
        @Sendable func measure(_ name: String) async throws -> String {
            gauges.withLock { all in
                all[name, default: Gauge()].current += 1
                all[name]!.highest = max(all[name]!.highest, all[name]!.current)
            }
            try await Task.sleep(for: .milliseconds(100))
            gauges.withLock { $0[name]!.current -= 1 }
            return "ok"
        }
        let router = Router()
        router.post("turns") { _, _ in try await measure("turns") }
        router.post("free") { _, _ in try await measure("free") }
        let responder = AdmissionResponder(router.buildResponder(), admission: RequestAdmission(permits: 2, routes: [(.post, "/turns")]))
        let app = Application(responder: responder)
        try await app.test(.router) { client in
            for path in ["/turns", "/free"] {
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<6 {
                        group.addTask { try await client.execute(uri: path, method: .post).status }
                    }
                    for try await status in group { #expect(status == .ok) }
                }
            }
        }
        let measured = gauges.withLock { $0 }
        #expect(measured["turns"]?.highest == 2)
        #expect((measured["free"]?.highest ?? 0) > 2)
    }

    @Test func admissionMatchesMethodAndPathExactly() {
        let admission = RequestAdmission(permits: 1, routes: [(.post, "/api/chat/stream")])
        func request(_ method: HTTPRequest.Method, _ path: String) -> Request {
            Request(head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path), body: .init(buffer: .init()))
        }
        #expect(admission.covers(request(.post, "/api/chat/stream")))
        #expect(admission.covers(request(.post, "/api/chat/stream?x=1")))
        #expect(!admission.covers(request(.get, "/api/chat/stream")))
        #expect(!admission.covers(request(.post, "/api/chat/streams")))
        #expect(!admission.covers(request(.post, "/api/chat")))
    }

    // MARK: The backend's server (connections served from their event loop)

    /// Requests sent one after another without waiting are answered in order; `Connection: close` ends the
    /// connection after its response.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withBackend(live: true) { _, client in
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
        try await withBackend(live: true) { _, client in
            let port = try #require(client.port)
            let reply = try #require(try await RawClient.sendAndAwaitClose(port: port, "NOT HTTP AT ALL\r\n\r\n", limit: .seconds(5)))
            #expect(reply.received.hasPrefix("HTTP/1.1 400 Bad Request"))
        }
    }

    /// A body over MAX_BODY_BYTES is answered with 413 in the API envelope, whether its length is declared (at
    /// once, without waiting for it) or only found while reading a chunked body; the connection then closes.
    /// `Expect: 100-continue` gets its go-ahead when the declared body is acceptable.
    @Test func oversizedBodiesAreRefused() async throws {
        try await withBackend(["MAX_BODY_BYTES": "4096"], live: true) { _, client in
            let port = try #require(client.port)
            let declared = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            let first = try #require(try await RawClient.sendAndAwaitClose(port: port, declared, limit: .seconds(5)))
            #expect(first.received.hasPrefix("HTTP/1.1 413"))
            #expect(first.received.hasSuffix("}") && first.received.contains(#""error":"Request body too large""#))

            let chunk = String(repeating: " ", count: 3000)
            let chunked = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "BB8\r\n\(chunk)\r\nBB8\r\n\(chunk)\r\n0\r\n\r\n"
            let second = try #require(try await RawClient.sendAndAwaitClose(port: port, chunked, limit: .seconds(5)))
            #expect(second.received.hasPrefix("HTTP/1.1 413"))
            #expect(second.received.contains("Request body too large"))

            // Under the limit, a chunked body arrives whole.
            let small = #"{"username":"nobody","password":"wrong-password1"}"#
            let fine = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + String(small.utf8.count, radix: 16) + "\r\n\(small)\r\n0\r\n\r\n"
            let third = try #require(try await RawClient.sendAndAwaitClose(port: port, fine, limit: .seconds(5)))
            #expect(third.received.hasPrefix("HTTP/1.1 401"))

            // A client that asks before sending its body is told to go ahead (and one that asks too much is not).
            let asking = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                + "Connection: close\r\nContent-Length: \(small.utf8.count)\r\n\r\n\(small)"
            let fourth = try #require(try await RawClient.sendAndAwaitClose(port: port, asking, limit: .seconds(5)))
            #expect(fourth.received.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401"))
            let tooMuch = declared.replacingOccurrences(of: "Content-Length", with: "Expect: 100-continue\r\nContent-Length")
            let fifth = try #require(try await RawClient.sendAndAwaitClose(port: port, tooMuch, limit: .seconds(5)))
            #expect(fifth.received.hasPrefix("HTTP/1.1 413"))
        }
    }

    /// The server knows its open connections; they close once idle, and a shutdown can wait for that (for a while).
    @Test func openConnectionsAreCounted() async throws {
        try await withBackend(["HTTP_IDLE_TIMEOUT_S": "1"], live: true) { backend, client in
            let health = try await client.call(.get, "/api/settings/health")
            #expect(health.status == .ok)
            #expect(backend.openConnections.count >= 1)
            // Not closed yet (idle for less than a second): the wait ends at its limit.
            let early = ContinuousClock.now
            await backend.openConnections.waitUntilClosed(within: .milliseconds(200))
            #expect(backend.openConnections.count >= 1)
            #expect(early.duration(to: .now) < .milliseconds(900))
            let started = ContinuousClock.now
            await backend.openConnections.waitUntilClosed(within: .seconds(10))
            #expect(backend.openConnections.count == 0)
            #expect(started.duration(to: .now) < .seconds(5))
        }
    }

    /// A pushed body is written from the event loop as its producer offers it, and waits while the client does
    /// not read: a client that reads slowly still gets every byte, in order.
    @Test func pushedBodiesFollowTheReader() async throws {
        let router = Router()
        router.get("pushed") { _, _ -> Response in
            PushedBodySlot.current?.offer(CountingBody(chunks: 400, size: 16 << 10))
            return Response(status: .ok, body: ResponseBody { writer in try await writer.finish(nil) })
        }
        let connections = OpenConnections()
        let app = Application(
            responder: router.buildResponder(),
            server: eventLoopHTTP1Server(
                idleTimeoutSeconds: 30, maxBodyBytes: 1 << 20, responder: router.buildResponder(), serverName: nil, connections: connections,
                logger: TestEnv.logger
            ),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: TestEnv.logger
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/pushed"), timeout: .seconds(30))
            #expect(response.status == .ok)
            var total = 0
            var pauses = 0
            var ordered = true
            for try await buffer in response.body {
                // Every 256th byte is checked: chunk n is filled with n.
                var offset = (256 - total % 256) % 256
                while offset < buffer.readableBytes {
                    let expected = UInt8(truncatingIfNeeded: (total + offset) / (16 << 10))
                    if buffer.getInteger(at: buffer.readerIndex + offset, as: UInt8.self) != expected { ordered = false }
                    offset += 256
                }
                total += buffer.readableBytes
                if pauses < 20 {
                    pauses += 1
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(total == 400 * (16 << 10))
            #expect(ordered)
        }
        #expect(CountingBody.sawBackPressure.withLock { $0 }, "the client's slowness reached the producer")
    }
}

/// Pushes `chunks` chunks of `size` bytes, chunk n filled with the byte n (mod 256), while the connection takes them.
final class CountingBody: PushedResponseBody, @unchecked Sendable {
    static let sawBackPressure = Mutex(false)
    let chunks: Int
    let size: Int
    var sent = 0
    var output: PushedBodyOutput?

    init(chunks: Int, size: Int) {
        self.chunks = chunks
        self.size = size
    }

    func start(_ output: PushedBodyOutput) {
        self.output = output
        self.resumeWriting()
    }

    func resumeWriting() {
        guard let output = self.output else { return }
        while self.sent < self.chunks {
            guard output.isWritable else {
                Self.sawBackPressure.withLock { $0 = true }
                return
            }
            output.write(ByteBuffer(repeating: UInt8(truncatingIfNeeded: self.sent), count: self.size))
            self.sent += 1
        }
        self.output = nil
        output.finish()
    }

    func connectionClosed() {
        self.output = nil
    }
}
