import AIChatCore
import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AIChatBackend

/// A signed-in admin with a system connection to the fake provider and a session on it.
struct ChatFixture: Sendable {
    let token: String
    let connectionId: Int
    let sessionId: Int

    static func make(
        _ client: any TestClientProtocol, fake: FakeProvider, provider: String = "openai", path: String = "/v1", model: String = "gpt-test",
        extra: [String: Any] = [:]
    ) async throws -> ChatFixture {
        let token = try await client.register("admin")
        var body: [String: Any] = ["provider": provider, "baseUrl": fake.baseURL + path, "apiKey": "sk-test-secret-key-123456", "modelIds": [model]]
        for (key, value) in extra { body[key] = value }
        let connection = try await client.call(.post, "/api/connections", json: body, token: token)
        let connectionId = try #require(connection.data?["id"]?.int, "\(connection.json)")
        let session = try await client.call(.post, "/api/sessions", json: ["connectionId": connectionId, "rawId": model], token: token)
        let sessionId = try #require(session.data?["id"]?.int, "\(session.json)")
        return ChatFixture(token: token, connectionId: connectionId, sessionId: sessionId)
    }

    /// A signed-in admin with a session on a connection to `baseURL` (a ``RawServer``); returns the token and session.
    static func session(_ client: any TestClientProtocol, baseURL: String) async throws -> (token: String, sessionId: Int) {
        let token = try await client.register("admin")
        let connection = try await client.call(
            .post, "/api/connections", json: ["provider": "openai", "baseUrl": baseURL + "/v1", "modelIds": ["m"]], token: token)
        let connectionId = try #require(connection.data?["id"]?.int, "\(connection.json)")
        let session = try await client.call(.post, "/api/sessions", json: ["connectionId": connectionId, "rawId": "m"], token: token)
        return (token, try #require(session.data?["id"]?.int, "\(session.json)"))
    }

    /// Opens registration (as the fixture's admin) and registers another user; returns that user's token.
    func registerAnother(_ username: String, _ client: any TestClientProtocol) async throws -> String {
        _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: self.token)
        return try await client.register(username)
    }
}

/// The `data:` events of an SSE body, parsed; `: ping` comments are counted separately.
struct SSEBody {
    let events: [JSONValue]
    let pings: Int

    init(_ text: String) {
        var events: [JSONValue] = []
        var pings = 0
        for block in text.components(separatedBy: "\n\n") {
            for line in block.split(separator: "\n") {
                if line.hasPrefix("data: "), let value = try? JSONValue.parse(Data(line.dropFirst(6).utf8)) {
                    events.append(value)
                } else if line.hasPrefix(": ping") {
                    pings += 1
                }
            }
        }
        self.events = events
        self.pings = pings
    }

    var types: [String] { self.events.compactMap { $0["type"]?.string } }
    var content: String { self.events.filter { $0["type"]?.string == "content" }.compactMap { $0["content"]?.string }.joined() }
    var reasoning: String {
        self.events.filter { $0["type"]?.string == "reasoning" && $0["done"] == nil }.compactMap { $0["content"]?.string }.joined()
    }
    func first(_ type: String) -> JSONValue? { self.events.first { $0["type"]?.string == type } }
    func last(_ type: String) -> JSONValue? { self.events.last { $0["type"]?.string == type } }
}

extension TestClientProtocol {
    /// Posts to a streaming endpoint and returns the whole SSE body once the server closes it.
    func stream(_ uri: String, json: [String: Any], token: String) async throws -> (HTTPResponse.Status, SSEBody, String) {
        let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        return try await self.execute(
            uri: uri, method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(token)"], body: body
        ) { response in
            let text = String(buffer: response.body)
            return (response.status, SSEBody(text), text)
        }
    }
}

/// Reads a live SSE response incrementally (for stop, disconnect and re-attach).
final class LiveStream {
    let response: HTTPClientResponse
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(response: HTTPClientResponse) {
        self.response = response
        self.iterator = response.body.makeAsyncIterator()
    }

    static func open(port: Int, path: String, json: [String: Any]?, token: String, client: HTTPClient = .shared) async throws -> LiveStream {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = json == nil ? .GET : .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        return LiveStream(response: try await client.execute(request, timeout: .seconds(30)))
    }

    /// Reads until `predicate` holds for the text read by this call (or the body ends); returns that text.
    func read(until predicate: (String) -> Bool) async throws -> String {
        var text = ""
        while let chunk = try await self.iterator.next() {
            text += String(buffer: chunk)
            if predicate(text) { break }
        }
        return text
    }
}

/// Polls `condition` for up to `timeout`.
func eventually(_ timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}
