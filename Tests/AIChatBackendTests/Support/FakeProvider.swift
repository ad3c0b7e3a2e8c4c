import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A fake LLM provider: a real HTTP server on 127.0.0.1 (port 0) that speaks the OpenAI, Ollama, Anthropic and
/// Gemini wire formats. Tests script its answers and read back the requests it received.
final class FakeProvider: Sendable {
    /// How the next chat request is answered.
    enum Reply: Sendable {
        /// Raw body chunks written one by one with `delay` between them, the first after `firstDelay`.
        case chunks([String], contentType: String, delay: Duration = .zero, firstDelay: Duration = .zero)
        /// A status code with a body (e.g. 429 with `Retry-After`).
        case status(Int, body: String, headers: [String: String] = [:])
        /// Holds the response open, sending nothing, until the client goes away.
        case hang
    }

    struct Received: Sendable {
        var method: String
        var path: String
        var query: String
        var headers: [String: String]
        var body: String

        var json: JSONValue? { try? JSONValue.parse(Data(self.body.utf8)) }
    }

    private let state = Mutex<(replies: [Reply], fallback: Reply?, received: [Received], models: [String], closedEarly: Int)>(
        ([], nil, [], ["gpt-4o-mini", "gpt-4o"], 0)
    )
    private let portValue = Mutex<Int>(0)

    var port: Int { self.portValue.withLock { $0 } }
    var baseURL: String { "http://127.0.0.1:\(self.port)" }
    var received: [Received] { self.state.withLock { $0.received } }
    var chatRequests: [Received] { self.received.filter { $0.method == "POST" } }
    /// Responses whose client disconnected before the fake finished writing.
    var closedEarly: Int { self.state.withLock { $0.closedEarly } }

    func enqueue(_ replies: Reply...) { self.state.withLock { $0.replies.append(contentsOf: replies) } }
    func setFallback(_ reply: Reply?) { self.state.withLock { $0.fallback = reply } }
    func setModels(_ models: [String]) { self.state.withLock { $0.models = models } }

    private func nextReply() -> Reply? {
        self.state.withLock { state in
            state.replies.isEmpty ? state.fallback : state.replies.removeFirst()
        }
    }

    private func record(_ request: Request, body: ByteBuffer) {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        // HTTP/1 `Host` arrives as the request's authority.
        if let authority = request.head.authority { headers["host"] = authority }
        let entry = Received(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: headers,
            body: String(buffer: body)
        )
        self.state.withLock { $0.received.append(entry) }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("**") { request, _ -> Response in
            self.record(request, body: ByteBuffer())
            let path = request.uri.path
            let models = self.state.withLock { $0.models }
            let body: JSONValue
            if path.hasSuffix("/api/tags") {
                body = .object(["models": .array(models.map { .object(["model": .string($0), "name": .string($0)]) })])
            } else if path.hasSuffix("/api/version") {
                body = .object(["version": .string("0.9.0")])
            } else if path.contains("/v1beta/models") {
                body = .object([
                    "models": .array(
                        models.map { .object(["name": .string("models/\($0)"), "supportedGenerationMethods": .array([.string("generateContent")])]) })
                ])
            } else if path.hasSuffix("/models") {
                if let reply = self.state.withLock({ state -> Reply? in state.fallback }), case .status(let code, let text, _) = reply, code >= 400 {
                    return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: text)))
                }
                body = .object(["object": .string("list"), "data": .array(models.map { .object(["id": .string($0), "object": .string("model")]) })])
            } else {
                return Response(status: .notFound)
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(body)))
            )
        }
        router.post("**") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 20)
            self.record(request, body: body)
            guard let reply = self.nextReply() else {
                return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "no scripted reply")))
            }
            switch reply {
                case .status(let code, let text, let extra):
                    var headers: HTTPFields = [.contentType: "application/json"]
                    for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
                    return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
                case .chunks(let chunks, let contentType, let delay, let firstDelay):
                    let inbound = request
                    return Response(
                        status: .ok, headers: [.contentType: contentType],
                        body: ResponseBody { writer in
                            do {
                                try await inbound.body.consumeWithCancellationOnInboundClose { _ in
                                    if firstDelay > .zero { try await Task.sleep(for: firstDelay) }
                                    for chunk in chunks {
                                        if delay > .zero { try await Task.sleep(for: delay) }
                                        try await writer.write(ByteBuffer(string: chunk))
                                    }
                                }
                            } catch {
                                self.state.withLock { $0.closedEarly += 1 }
                                throw error
                            }
                            try await writer.finish(nil)
                        }
                    )
                case .hang:
                    let inbound = request
                    return Response(
                        status: .ok, headers: [.contentType: "text/event-stream"],
                        body: ResponseBody { writer in
                            do {
                                try await inbound.body.consumeWithCancellationOnInboundClose { _ in
                                    try await Task.sleep(for: .seconds(3600))
                                }
                            } catch {
                                self.state.withLock { $0.closedEarly += 1 }
                                throw error
                            }
                            try await writer.finish(nil)
                        }
                    )
            }
        }
        return router
    }

    /// Runs the fake for the duration of `body`.
    static func run<T: Sendable>(_ body: @Sendable (FakeProvider) async throws -> T) async throws -> T {
        let fake = FakeProvider()
        var logger = Logger(label: "fake-provider")
        logger.logLevel = .error
        let app = Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in
            fake.portValue.withLock { $0 = client.port ?? 0 }
            return try await body(fake)
        }
    }
}

/// Stream bodies in each provider's format.
enum FakeStreams {
    static func openAI(_ pieces: [String], reasoning: [String] = [], finish: String = "stop", usage: (Int, Int)? = (12, 5)) -> [String] {
        var chunks: [String] = []
        for piece in reasoning {
            chunks.append(#"data: {"choices":[{"index":0,"delta":{"reasoning_content":\#(quoted(piece))}}]}"# + "\n\n")
        }
        for piece in pieces {
            chunks.append(#"data: {"choices":[{"index":0,"delta":{"content":\#(quoted(piece))}}]}"# + "\n\n")
        }
        chunks.append(#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"\#(finish)"}]}"# + "\n\n")
        if let usage {
            chunks.append(
                #"data: {"choices":[],"usage":{"prompt_tokens":\#(usage.0),"completion_tokens":\#(usage.1),"total_tokens":\#(usage.0 + usage.1)}}"#
                    + "\n\n")
        }
        chunks.append("data: [DONE]\n\n")
        return chunks
    }

    static func ollama(_ pieces: [String], thinking: [String] = []) -> [String] {
        var lines = thinking.map { #"{"model":"llama3","message":{"role":"assistant","content":"","thinking":\#(quoted($0))},"done":false}"# + "\n" }
        lines += pieces.map { #"{"model":"llama3","message":{"role":"assistant","content":\#(quoted($0))},"done":false}"# + "\n" }
        lines.append(
            #"{"model":"llama3","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":4}"#
                + "\n")
        return lines
    }

    static func anthropic(_ pieces: [String], thinking: [String] = []) -> [String] {
        var events = [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"role\":\"assistant\",\"usage\":{\"input_tokens\":21,\"output_tokens\":1}}}\n\n"
        ]
        for piece in thinking {
            events.append(
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\(quoted(piece))}}\n\n"
            )
        }
        for piece in pieces {
            events.append(
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\(quoted(piece))}}\n\n"
            )
        }
        events.append(
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n"
        )
        events.append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        return events
    }

    static func gemini(_ pieces: [String], thoughts: [String] = []) -> [String] {
        var events: [String] = []
        for thought in thoughts {
            events.append(
                "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\(quoted(thought)),\"thought\":true}]}}]}\r\n\r\n")
        }
        for (index, piece) in pieces.enumerated() {
            let last = index == pieces.count - 1
            let finish = last ? ",\"finishReason\":\"STOP\"" : ""
            let usage = last ? ",\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":6,\"totalTokenCount\":14}" : ""
            events.append(
                "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\(quoted(piece))}]}\(finish)}]\(usage)}\r\n\r\n")
        }
        return events
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }
}
