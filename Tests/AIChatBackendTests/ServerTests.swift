import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AIChatBackend

/// The HTTP server as both executables run it: its own request closure, admission, receive buffers.
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

    /// Connections start with a small receive buffer; a body many times its size still arrives whole.
    @Test func largeBodiesArriveWhole() async throws {
        try await withBackend(live: true) { _, client in
            _ = try await client.register("alice")
            let padding = String(repeating: " ", count: 200_000)
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
        let responder = ChildTaskResponder(router.buildResponder(), admission: RequestAdmission(permits: 2, routes: [(.post, "/turns")]))
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
}
