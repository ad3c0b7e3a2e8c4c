import AIChatCore
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AIChatFrontend

/// Runs `body` against a frontend whose backend is 127.0.0.1:`backendPort`, then shuts its client down.
func withFrontend(
    backendPort: Int, environment extra: [String: String] = [:], _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    var values = [
        "BACKEND_HOST": "127.0.0.1", "BACKEND_INTERNAL_PORT": String(backendPort), "APP_ENV": "test", "RESOURCES_DIR": TestResources.directory,
    ]
    values.merge(extra) { $1 }
    let frontend = try await Frontend(configuration: try FrontendConfiguration(env: EnvironmentValues(values)), logger: logger)
    do {
        try await Application(router: frontend.router()).test(.router, body)
        await frontend.shutdown()
    } catch {
        await frontend.shutdown()
        throw error
    }
}

enum TestResources {
    /// `Resources` of the package, found from this file so the tests run from any working directory.
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources").path
    }
}

@Suite struct ProxyTests {
    @Test func healthAnswersTheOriginalShape() async throws {
        try await withFrontend(backendPort: 1) { client in
            try await client.execute(uri: "/api/health", method: .get) { response in
                #expect(response.status == .ok)
                let json = try JSONValue.parse(Data(buffer: response.body))
                guard case .object(let fields) = json else { Issue.record("not an object"); return }
                #expect(fields["status"] == .string("ok"))
                #expect(fields["service"] == .string("aichat-frontend"))
                #expect(fields["environment"] == .string("test"))
                if case .number(let uptime)? = fields["uptime"] { #expect(uptime >= 0) } else { Issue.record("no uptime") }
            }
            try await client.execute(uri: "/api/health", method: .head) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func backendAddressIsReadAtRunTime() throws {
        let configuration = try FrontendConfiguration(env: EnvironmentValues(["BACKEND_HOST": "backend", "BACKEND_PORT": "9001"]))
        #expect(configuration.backendBaseURL == "http://backend:9001")
        #expect(try FrontendConfiguration(env: EnvironmentValues([:])).backendBaseURL == "http://localhost:8001")
        #expect(throws: ConfigurationError.self) { try FrontendConfiguration(env: EnvironmentValues(["BACKEND_INTERNAL_PORT": "x"])) }
        #expect(throws: ConfigurationError.self) { try FrontendConfiguration(env: EnvironmentValues(["COOKIE_SECURE": "sometimes"])) }
    }

    @Test func backendDownIsA502InTheEnvelope() async throws {
        try await withFrontend(backendPort: 9) { client in
            try await client.execute(uri: "/api/auth/me", method: .get) { response in
                #expect(response.status == .badGateway)
                let json = try JSONValue.parse(Data(buffer: response.body))
                #expect(json == .object(["success": .bool(false), "error": .string("Backend unavailable")]))
            }
        }
    }

    @Test func crossOriginWritesToTheAPIAreRefused() async throws {
        try await withFrontend(backendPort: 9) { client in
            try await client.execute(
                uri: "/api/sessions", method: .post, headers: [.xForwardedHost: "chat.example", .origin: "https://evil.example"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .forbidden)
                let json = try JSONValue.parse(Data(buffer: response.body))
                #expect(json == .object(["success": .bool(false), "error": .string("Cross-origin request refused")]))
            }
            // Same origin passes the check (and reaches the stopped backend).
            try await client.execute(
                uri: "/api/sessions", method: .post, headers: [.xForwardedHost: "chat.example", .origin: "https://chat.example"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .badGateway)
            }
            try await client.execute(
                uri: "/api/sessions", method: .delete, headers: [.xForwardedHost: "chat.example", .referer: "http://evil.example/page"]
            ) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/sessions", method: .post, headers: [.xForwardedHost: "chat.example", .origin: "null"]) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func trustedOriginsAndForwardedHostsPass() {
        let check = OriginCheckMiddleware<FrontendRequestContext>(trustedOrigins: ["https://app.example"])
        #expect(OriginCheckMiddleware<FrontendRequestContext>.origin(of: "https://Chat.Example:443/x")! == ("https", "chat.example:443"))
        #expect(OriginCheckMiddleware<FrontendRequestContext>.sameHost("chat.example", "chat.example:443", scheme: "https"))
        #expect(!OriginCheckMiddleware<FrontendRequestContext>.sameHost("chat.example", "chat.example:8443", scheme: "https"))
        #expect(check.trustedOrigins == ["https://app.example"])
    }

    /// A real upstream on port 0: the proxy forwards method, path, query, body and headers and streams SSE.
    @Test func proxiesRequestsAndStreamsEvents() async throws {
        let upstreamRouter = Router()
        upstreamRouter.post("/api/echo") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let summary: [String: String] = [
                "method": request.method.rawValue,
                "query": request.uri.query ?? "",
                "body": String(buffer: body),
                "auth": request.headers[.authorization] ?? "",
                "forwardedFor": request.headers[HTTPField.Name("X-Forwarded-For")!] ?? "",
                "connection": request.headers[.connection] ?? "",
            ]
            let data = try JSONEncoder().encode(summary)
            return Response(
                status: .created, headers: [.contentType: "application/json", HTTPField.Name("X-Upstream")!: "yes"],
                body: .init(byteBuffer: ByteBuffer(data: data)))
        }
        upstreamRouter.get("/api/events") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    for index in 0..<3 {
                        try await writer.write(ByteBuffer(string: "data: {\"n\":\(index)}\n\n"))
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        let upstream = Application(router: upstreamRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await upstream.test(.live) { upstreamClient in
            let port = try #require(upstreamClient.port)
            try await withFrontend(backendPort: port) { client in
                try await client.execute(
                    uri: "/api/echo?x=1&y=two", method: .post,
                    headers: [.authorization: "Bearer abc", .contentType: "application/json", .connection: "keep-alive"],
                    body: ByteBuffer(string: #"{"hello":"world"}"#)
                ) { response in
                    #expect(response.status == .created)
                    #expect(response.headers[HTTPField.Name("X-Upstream")!] == "yes")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    let echo = try JSONDecoder().decode([String: String].self, from: Data(buffer: response.body))
                    #expect(echo["method"] == "POST")
                    #expect(echo["query"] == "x=1&y=two")
                    #expect(echo["body"] == #"{"hello":"world"}"#)
                    #expect(echo["auth"] == "Bearer abc")
                    #expect(echo["forwardedFor"]?.isEmpty == false)
                    #expect(echo["connection"] != "keep-alive")
                }
                try await client.execute(uri: "/api/events", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "text/event-stream")
                    #expect(response.headers[.cacheControl] == "no-cache, no-transform")
                    #expect(String(buffer: response.body) == "data: {\"n\":0}\n\ndata: {\"n\":1}\n\ndata: {\"n\":2}\n\n")
                }
            }
        }
    }
}

/// Streaming through a listening frontend: events arrive one by one, and a browser that leaves closes the backend
/// request.
@Suite struct ProxyStreamingTests {
    @Test func eventsPassOneByOneAndALeavingClientClosesTheBackendRequest() async throws {
        let upstreamEnded = AsyncStream.makeStream(of: Int.self)
        let upstreamRouter = Router()
        upstreamRouter.get("/api/events") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    var sent = 0
                    defer { upstreamEnded.continuation.yield(sent) }
                    for index in 0..<200 {
                        try await writer.write(ByteBuffer(string: "data: {\"n\":\(index)}\n\n"))
                        sent += 1
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        let upstream = Application(router: upstreamRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await upstream.test(.live) { upstreamClient in
            let backendPort = try #require(upstreamClient.port)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let values = [
                "BACKEND_HOST": "127.0.0.1", "BACKEND_INTERNAL_PORT": String(backendPort), "APP_ENV": "test",
                "RESOURCES_DIR": TestResources.directory,
            ]
            let frontend = try await Frontend(configuration: try FrontendConfiguration(env: EnvironmentValues(values)), logger: logger)
            let app = Application(router: frontend.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { frontendClient in
                let port = try #require(frontendClient.port)
                let browser = HTTPClient(eventLoopGroupProvider: .singleton)
                do {
                    let started = ContinuousClock.now
                    let response = try await browser.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/events"), timeout: .seconds(30))
                    #expect(response.status == .ok)
                    var received = ""
                    var iterator = response.body.makeAsyncIterator()
                    while !received.contains("\"n\":1}") {
                        guard let chunk = try await iterator.next() else { break }
                        received += String(buffer: chunk)
                    }
                    // Two events in well under the ten seconds the whole stream takes: nothing waits for the end.
                    #expect(received.hasPrefix("data: {\"n\":0}\n\ndata: {\"n\":1}"))
                    #expect(started.duration(to: .now) < .seconds(3))
                    try await browser.shutdown()
                } catch {
                    try? await browser.shutdown()
                    throw error
                }
                // The browser is gone: the proxy's next write fails and the backend request is closed.
                var ended: Int?
                for await sent in upstreamEnded.stream {
                    ended = sent
                    break
                }
                #expect((ended ?? 200) < 100)
            }
            await frontend.shutdown()
        }
    }
}
