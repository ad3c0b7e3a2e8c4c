import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOSSL
import Testing

@testable import AIChatCore

/// The HTTP client for provider requests, against real servers on 127.0.0.1.
struct UpstreamClientTests {
    static func deadline(_ seconds: Int64 = 10) -> NIODeadline { .now() + .seconds(seconds) }

    /// Unused connections the client holds for `url`'s destination.
    static func idle(_ client: UpstreamClient, _ url: String, address: String? = nil) throws -> Int {
        client.pool.count(try UpstreamTarget(url).poolKey(address: address))
    }

    @Test func urlsAreTakenApartForSending() throws {
        let plain = try UpstreamTarget("http://models.example:8080/v1/chat?x=1#frag")
        #expect(!plain.secure && plain.host == "models.example" && plain.port == 8080 && plain.path == "/v1/chat?x=1")
        #expect(plain.hostHeader == "models.example:8080" && !plain.isAddressLiteral)
        let secure = try UpstreamTarget("HTTPS://api.example.com")
        #expect(secure.secure && secure.port == 443 && secure.path == "/" && secure.hostHeader == "api.example.com")
        let v6 = try UpstreamTarget("http://[2001:db8::5]:9000?q")
        #expect(v6.host == "2001:db8::5" && v6.port == 9000 && v6.path == "/?q" && v6.hostHeader == "[2001:db8::5]:9000" && v6.isAddressLiteral)
        #expect(try UpstreamTarget("https://10.0.0.2:443/v1").hostHeader == "10.0.0.2")
        #expect(try UpstreamTarget("https://10.0.0.2/v1").isAddressLiteral)
        for bad in [
            "ftp://x/", "http:/x", "http://", "http://:80/", "http://user:pw@host/", "http://host:0/", "http://host:65536/", "http://host:8o/",
            "http://[::1/", "http://[nothost]/", "http://host/a b", "http://host/\u{e9}", "localhost:8080/v1",
        ] {
            #expect(throws: UpstreamError.invalidURL, "\(bad)") { try UpstreamTarget(bad) }
        }
    }

    /// A POST carries its body and length, the answer comes back whole, and the connection is used again.
    @Test func requestsReuseTheirConnection() async throws {
        try await FakeProvider.run { fake in
            let client = UpstreamClient()
            let url = fake.baseURL + "/v1/chat/completions"
            for round in 1...3 {
                fake.enqueue(.status(201, body: #"{"round":\#(round)}"#, headers: ["x-extra": "yes"]))
                let response = try await client.execute(
                    UpstreamRequest(method: .POST, url: url, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: #"{"n":\#(round)}"#)),
                    deadline: Self.deadline()
                )
                #expect(response.status == .created)
                #expect(response.headers.first(name: "x-extra") == "yes")
                #expect(String(buffer: try await response.body.collect(upTo: 1024)) == #"{"round":\#(round)}"#)
                #expect(try Self.idle(client, url) == 1)
                let received = try #require(fake.received.last)
                #expect(received.body == #"{"n":\#(round)}"#)
                #expect(received.headers["content-length"] == String(received.body.utf8.count))
                #expect(received.headers["host"] == "127.0.0.1:\(fake.port)")
            }
            await client.shutdown()
            #expect(try Self.idle(client, url) == 0)
        }
    }

    /// With an address given, the client connects there and keeps the URL's name in `Host`.
    @Test func aGivenAddressIsWhereTheRequestGoes() async throws {
        try await FakeProvider.run { fake in
            fake.setModels(["m"])
            let client = UpstreamClient()
            let url = "http://provider.invalid:\(fake.port)/v1/models"
            let response = try await client.execute(UpstreamRequest(url: url, address: "127.0.0.1"), deadline: Self.deadline())
            #expect(response.status == .ok)
            _ = try await response.body.collect(upTo: 1 << 16)
            #expect(fake.received.last?.headers["host"] == "provider.invalid:\(fake.port)")
            #expect(try Self.idle(client, url, address: "127.0.0.1") == 1)
            await #expect(throws: (any Error).self) { try await client.execute(UpstreamRequest(url: url), deadline: Self.deadline()) }
            await client.shutdown()
        }
    }

    @Test func bodiesArriveWholeAndLimitsHold() async throws {
        try await FakeProvider.run { fake in
            let client = UpstreamClient()
            let pieces = (0..<300).map { String(repeating: Character(UnicodeScalar(65 + $0 % 26)!), count: 4000 + $0) }
            fake.enqueue(.chunks(pieces, contentType: "text/plain"), .chunks(pieces, contentType: "text/plain"))
            let url = fake.baseURL + "/v1/stream"
            var received = ""
            let response = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline())
            for try await piece in response.body {
                received += String(buffer: piece)
                // A slow reader: the connection is read only as fast as the body is consumed.
                if received.utf8.count < 200_000 { try await Task.sleep(for: .milliseconds(1)) }
            }
            #expect(received == pieces.joined())
            let limited = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline())
            await #expect(throws: UpstreamError.bodyTooLarge) { try await limited.body.collect(upTo: 100_000) }
            await client.shutdown()
        }
    }

    /// A reader that stops early, a cancelled task and a passed deadline all close the connection: the provider
    /// sees the request end and nothing half-read is reused.
    @Test func abandonedExchangesCloseTheirConnection() async throws {
        try await FakeProvider.run { fake in
            let client = UpstreamClient()
            let url = fake.baseURL + "/v1/stream"
            fake.enqueue(.chunks((0..<100).map { "piece \($0)\n" }, contentType: "text/plain", delay: .milliseconds(20)))
            let response = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline())
            for try await _ in response.body { break }
            #expect(try await eventually { fake.closedEarly == 1 })
            #expect(try Self.idle(client, url) == 0)

            fake.enqueue(.hang)
            let reader = Task {
                let response = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline())
                for try await _ in response.body {}
            }
            #expect(try await eventually { fake.received.count == 2 })
            reader.cancel()
            await #expect(throws: (any Error).self) { try await reader.value }
            #expect(try await eventually { fake.closedEarly == 2 })

            fake.enqueue(.hang)
            let started = ContinuousClock.now
            let hanging = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: .now() + .milliseconds(300))
            await #expect(throws: UpstreamError.deadlineExceeded) { for try await _ in hanging.body {} }
            #expect(started.duration(to: .now) < .seconds(5))
            #expect(try await eventually { fake.closedEarly == 3 })
            #expect(try Self.idle(client, url) == 0)
            await client.shutdown()
        }
    }

    /// A server that accepts and never answers: the deadline ends the wait for the head.
    @Test func theDeadlineCoversTheWaitForTheHead() async throws {
        try await RawServer.run(answering: "") { base in
            let client = UpstreamClient()
            let started = ContinuousClock.now
            await #expect(throws: UpstreamError.self) {
                _ = try await client.execute(UpstreamRequest(url: base + "/silent"), deadline: .now() + .milliseconds(300))
            }
            #expect(started.duration(to: .now) < .seconds(5))
            await client.shutdown()
        }
    }

    /// A server that closes every connection after one answer although it did not say so: the next request finds
    /// the pooled connection closed and goes out on a new one.
    @Test func aConnectionTheServerClosedIsReplaced() async throws {
        try await RawServer.run(answering: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") { base in
            let client = UpstreamClient()
            for _ in 0..<5 {
                let response = try await client.execute(UpstreamRequest(url: base + "/again"), deadline: Self.deadline())
                #expect(String(buffer: try await response.body.collect(upTo: 100)) == "ok")
            }
            await client.shutdown()
        }
    }

    @Test func interimAnswersAndCompressionAreHandled() async throws {
        try await RawServer.run(answering: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok") { base in
            let client = UpstreamClient()
            let response = try await client.execute(UpstreamRequest(method: .POST, url: base + "/"), deadline: Self.deadline())
            #expect(String(buffer: try await response.body.collect(upTo: 100)) == "ok")
            #expect(try Self.idle(client, base + "/") == 0)
        }
        // "hello, compressed world", gzip.
        let gzip: [UInt8] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 203, 72, 205, 201, 201, 215, 81, 72, 206, 207, 45, 40, 74, 45, 46, 78, 77, 81, 40, 207, 47, 202, 73, 1,
            0, 8, 158, 52, 53, 23, 0, 0, 0,
        ]
        let head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(gzip.count)\r\n\r\n"
        try await RawServer.run(answering: Array(head.utf8) + gzip) { base in
            let response = try await UpstreamClient().execute(UpstreamRequest(url: base + "/"), deadline: Self.deadline())
            #expect(String(buffer: try await response.body.collect(upTo: 100)) == "hello, compressed world")
        }
    }

    /// A body cut short is an error for its reader, never a shorter success.
    @Test func aCutBodyFailsItsReader() async throws {
        try await RawServer.run(answering: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort") { base in
            let response = try await UpstreamClient().execute(UpstreamRequest(url: base + "/"), deadline: Self.deadline())
            await #expect(throws: (any Error).self) { try await response.body.collect(upTo: 1000) }
        }
        try await RawServer.run(answering: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n") { base in
            let response = try await UpstreamClient().execute(UpstreamRequest(url: base + "/"), deadline: Self.deadline())
            await #expect(throws: (any Error).self) { try await response.body.collect(upTo: 1000) }
        }
    }

    @Test func aRefusedConnectionFailsAtOnce() async throws {
        let port = try await RawServer.run(answering: "") { base in Int(base.split(separator: ":").last!)! }
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            _ = try await UpstreamClient().execute(UpstreamRequest(url: "http://127.0.0.1:\(port)/"), deadline: Self.deadline())
        }
        #expect(started.duration(to: .now) < .seconds(5))
    }

    /// HTTPS checks the certificate and the name: also when the connection goes to a given address, the name
    /// the certificate must carry is the URL's.
    @Test func tlsChecksTheCertificateAndTheName() async throws {
        try await TLSTestServer.run { port in
            var trusting = UpstreamClient.Configuration()
            trusting.tls.trustRoots = .certificates([try TLSTestServer.certificate()])
            let client = UpstreamClient(configuration: trusting)
            let byName = try await client.execute(UpstreamRequest(url: "https://localhost:\(port)/x"), deadline: Self.deadline())
            #expect(String(buffer: try await byName.body.collect(upTo: 100)) == "host=localhost:\(port)")
            // The certificate names localhost only.
            await #expect(throws: (any Error).self) {
                _ = try await client.execute(UpstreamRequest(url: "https://127.0.0.1:\(port)/"), deadline: Self.deadline())
            }
            let pinned = try await client.execute(UpstreamRequest(url: "https://localhost:\(port)/y", address: "127.0.0.1"), deadline: Self.deadline())
            #expect(String(buffer: try await pinned.body.collect(upTo: 100)) == "host=localhost:\(port)")
            await #expect(throws: (any Error).self) {
                _ = try await client.execute(UpstreamRequest(url: "https://other.example:\(port)/", address: "127.0.0.1"), deadline: Self.deadline())
            }
            await #expect(throws: (any Error).self) {
                _ = try await UpstreamClient().execute(UpstreamRequest(url: "https://localhost:\(port)/"), deadline: Self.deadline())
            }
            await client.shutdown()
        }
    }

    /// Collects what a body hands it; answers each piece as `decision` says at that moment.
    final class CollectingSink: UpstreamBodySink, Sendable {
        struct State {
            var text = ""
            var pieces = 0
            var finished: (any Error)??
            var decision = UpstreamSinkDecision.more
        }

        let state = NIOLockedValueBox(State())

        init(_ decision: UpstreamSinkDecision = .more) {
            self.state.withLockedValue { $0.decision = decision }
        }

        func receive(_ piece: ByteBuffer) -> UpstreamSinkDecision {
            self.state.withLockedValue { state in
                state.text += String(buffer: piece)
                state.pieces += 1
                return state.decision
            }
        }

        func finish(_ error: (any Error)?) {
            self.state.withLockedValue { $0.finished = .some(error) }
        }

        var text: String { self.state.withLockedValue { $0.text } }
        var pieces: Int { self.state.withLockedValue { $0.pieces } }
        var isFinished: Bool { self.state.withLockedValue { $0.finished != nil } }
        var error: (any Error)? { self.state.withLockedValue { $0.finished ?? nil } }
    }

    /// A sink receives the whole body and its end; one that pauses gets nothing more until it resumes.
    @Test func sinksReceiveTheBodyAndPauseReading() async throws {
        try await FakeProvider.run { fake in
            let client = UpstreamClient()
            let url = fake.baseURL + "/v1/stream"
            let pieces = (0..<20).map { "piece \($0);" }
            fake.enqueue(.chunks(pieces, contentType: "text/plain", delay: .milliseconds(2)))
            let whole = CollectingSink()
            try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline()).body.stream(to: whole)
            #expect(try await eventually { whole.isFinished })
            #expect(whole.text == pieces.joined() && whole.error == nil)

            fake.enqueue(.chunks(pieces, contentType: "text/plain", delay: .milliseconds(2)))
            let paused = CollectingSink(.pause)
            let body = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline()).body
            body.stream(to: paused)
            #expect(try await eventually { paused.pieces >= 1 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(!paused.isFinished)
            #expect(paused.pieces == 1)
            paused.state.withLockedValue { $0.decision = .more }
            body.resume()
            #expect(try await eventually { paused.isFinished })
            #expect(paused.text == pieces.joined() && paused.error == nil)
            await client.shutdown()
        }
    }

    /// A sink that stops, a cancelled body and a body nobody reads all close the connection; a body is read once.
    @Test func sinksThatStopAndUnreadBodiesCloseTheConnection() async throws {
        try await FakeProvider.run { fake in
            let client = UpstreamClient()
            let url = fake.baseURL + "/v1/stream"
            fake.enqueue(.chunks((0..<50).map { "piece \($0)\n" }, contentType: "text/plain", delay: .milliseconds(20)))
            let stopping = CollectingSink(.stop)
            try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline()).body.stream(to: stopping)
            #expect(try await eventually { fake.closedEarly == 1 })
            #expect(stopping.pieces == 1 && !stopping.isFinished)

            fake.enqueue(.hang)
            let cancelled = CollectingSink()
            let body = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline()).body
            body.stream(to: cancelled)
            body.cancel()
            #expect(try await eventually { cancelled.isFinished })
            #expect(cancelled.error is CancellationError)
            #expect(try await eventually { fake.closedEarly == 2 })
            let second = CollectingSink()
            body.stream(to: second)
            #expect(try await eventually { second.isFinished })
            #expect(second.error as? UpstreamError == .bodyAlreadyRead)

            fake.enqueue(.hang)
            _ = try await client.execute(UpstreamRequest(method: .POST, url: url), deadline: Self.deadline())
            #expect(try await eventually { fake.closedEarly == 3 })
            #expect(try Self.idle(client, url) == 0)
            await client.shutdown()
        }
    }

    /// The pool hands out the newest open connection, one on the caller's event loop when there is one.
    @Test func thePoolPrefersTheCallersLoop() async throws {
        let pool = UpstreamPool(maxIdlePerDestination: 2)
        let (first, second, third) = (EmbeddedChannel(), EmbeddedChannel(), EmbeddedChannel())
        for channel in [first, second, third] { try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).get() }
        #expect(pool.put(first, key: "k") && pool.put(second, key: "k"))
        #expect(!pool.put(third, key: "k"))
        #expect(pool.take("k", preferring: first.eventLoop) === first)
        #expect(pool.put(first, key: "k"))
        _ = try? await second.close().get()
        #expect(pool.take("k", preferring: second.eventLoop) === first)
        #expect(pool.take("k") == nil)
        #expect(pool.count("k") == 0)
    }
}
