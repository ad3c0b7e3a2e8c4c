import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// Measures the backend against a fake provider on loopback and prints the figures:
/// time-to-first-token overhead, relay throughput, and many concurrent slow streams (memory, failures).
///
///     aichat-bench <path to aichat-backend> [--frontend <path to aichat-frontend>] [--streams 2000] [--events 200000] [--samples 200]
///
/// With `--frontend` (run from the repository root, for `Resources/`) it also measures the frontend: the time to
/// first token and throughput it adds as a proxy, server-side render time of the chat page, idle memory and the
/// compressed weight of the first page.
///
/// `BENCH_BACKEND_PORT=<port>` uses a backend that is already running there instead of starting one (memory is
/// then not measured); `BENCH_TRACE=1` prints every resident-memory sample of the concurrent-stream phase;
/// `BENCH_SLOW_EVENTS=<n>` makes each slow stream n events long (10, every 500 ms, by default).
@main
struct Bench {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard let backendPath = arguments.first else {
            print("usage: aichat-bench <path to aichat-backend> [--streams N] [--events N] [--samples N]")
            exit(2)
        }
        arguments.removeFirst()
        func option(_ name: String, _ fallback: Int) -> Int {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
                return fallback
            }
            return value
        }
        let streams = option("--streams", 2000)
        let events = option("--events", 200_000)
        let samples = option("--samples", 200)
        let frontendPath = arguments.firstIndex(of: "--frontend").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }

        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let fake = FakeOpenAI()
        let fakePort = Mutex(0)
        var clientConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10)))
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: streams + 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

        try await withThrowingTaskGroup(of: Void.self) { group in
            let (started, startedContinuation) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in startedContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger
            )
            group.addTask { try await app.run() }
            for await port in started {
                fakePort.withLock { $0 = port }
                break
            }
            let providerURL = "http://127.0.0.1:\(fakePort.withLock { $0 })"
            let backend = try BackendProcess(path: backendPath)
            defer { backend.stop() }
            try await backend.waitUntilHealthy(client: client)
            let api = API(client: client, base: "http://127.0.0.1:\(backend.port)")
            let token = try await api.register()
            let connection = try await api.createConnection(token: token, baseURL: providerURL + "/v1")

            print("AIChat benchmark — fake provider and backend on loopback, \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print("")

            // 1. Time to first token: direct to the provider vs through the backend (user message stored first).
            fake.mode.withLock { $0 = .fast(events: 5) }
            var direct: [Double] = []
            var relayed: [Double] = []
            for _ in 0..<samples {
                // A new conversation each time, so the figure is the relay's cost, not a growing history's.
                let session = try await api.createSession(token: token, connectionId: connection)
                direct.append(
                    try await api.firstToken(
                        url: providerURL + "/v1/chat/completions", body: #"{"model":"m","stream":true,"messages":[]}"#, token: nil))
                relayed.append(
                    try await api.firstToken(url: api.base + "/api/chat/stream", body: #"{"sessionId":\#(session),"content":"hi"}"#, token: token)
                )
            }
            let directP50 = percentile(direct, 0.5)
            let relayedP50 = percentile(relayed, 0.5)
            print(
                String(
                    format: "time to first token, p50: provider %.3f ms, through backend %.3f ms, added %.3f ms (target < 1 ms)",
                    directP50, relayedP50, relayedP50 - directP50))
            print(
                String(
                    format: "time to first token, p90: provider %.3f ms, through backend %.3f ms", percentile(direct, 0.9), percentile(relayed, 0.9)))

            // 2. Relay throughput: one long answer streamed as fast as the fake can write it.
            fake.mode.withLock { $0 = .fast(events: events) }
            let bulkSession = try await api.createSession(token: token, connectionId: connection)
            let (count, seconds) = try await api.countEvents(
                url: api.base + "/api/chat/stream", body: #"{"sessionId":\#(bulkSession),"content":"go"}"#, token: token)
            print(
                String(
                    format: "relay throughput: %d content events in %.2f s = %.0f events/s (target ≥ 50,000)", count, seconds, Double(count) / seconds
                ))

            // 3. Many concurrent slow streams.
            // BENCH_SLOW_EVENTS lengthens each stream, so that all of them are open at once even on a slow machine.
            let slowEvents = ProcessInfo.processInfo.environment["BENCH_SLOW_EVENTS"].flatMap(Int.init) ?? 10
            fake.mode.withLock { $0 = .slow(events: slowEvents, interval: .milliseconds(500)) }
            var sessions: [Int] = []
            for _ in 0..<streams { sessions.append(try await api.createSession(token: token, connectionId: connection)) }
            let idleRSS = backend.residentMegabytes()
            let idleParts = backend.residentParts()
            let peak = Mutex(0.0)
            let peakAnonymous = Mutex(0.0)
            let sampler = Task {
                while !Task.isCancelled {
                    let rss = backend.residentMegabytes()
                    peak.withLock { $0 = max($0, rss) }
                    let anonymous = backend.residentParts().anonymous
                    peakAnonymous.withLock { $0 = max($0, anonymous) }
                    if ProcessInfo.processInfo.environment["BENCH_TRACE"] != nil { print("rss \(rss)") }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            let slowStart = ContinuousClock.now
            let outcomes = await withTaskGroup(of: Bool.self, returning: (Int, Int).self) { inner in
                for id in sessions {
                    inner.addTask {
                        guard
                            let (count, _) = try? await api.countEvents(
                                url: api.base + "/api/chat/stream", body: #"{"sessionId":\#(id),"content":"slow"}"#, token: token)
                        else {
                            return false
                        }
                        return count == slowEvents
                    }
                }
                var ok = 0
                var failed = 0
                for await success in inner { if success { ok += 1 } else { failed += 1 } }
                return (ok, failed)
            }
            sampler.cancel()
            let elapsed = slowStart.duration(to: .now)
            print(
                String(
                    format:
                        "concurrent slow streams: %d streams, %d complete, %d failed in %.1f s; backend RSS idle %.1f MB, peak %.1f MB (target < 100 MB, no failure)",
                    streams, outcomes.0, outcomes.1, Double(elapsed.components.seconds), idleRSS, peak.withLock { $0 }))
            print(
                String(
                    format:
                        "  backend resident memory: idle %.1f MB anonymous + %.1f MB file pages (code and read-only data); peak anonymous %.1f MB",
                    idleParts.anonymous, idleParts.file, peakAnonymous.withLock { $0 }))
            if let frontendPath {
                try await Self.measureFrontend(
                    path: frontendPath, backend: backend, api: api, client: client, token: token, connection: connection, fake: fake,
                    samples: samples,
                    events: events
                )
            }
            group.cancelAll()
        }
        try await client.shutdown()
    }
}

extension Bench {
    static func measureFrontend(
        path: String, backend: BackendProcess, api: API, client: HTTPClient, token: String, connection: Int, fake: FakeOpenAI, samples: Int,
        events: Int
    ) async throws {
        let resources = FileManager.default.currentDirectoryPath + "/Resources"
        let frontend = try BackendProcess(frontend: path, backendPort: backend.port, resources: resources)
        defer { frontend.stop() }
        try await frontend.waitUntilHealthy(client: client, path: "/api/health")
        let proxy = API(client: client, base: "http://127.0.0.1:\(frontend.port)")
        print("")
        let parts = frontend.residentParts()
        print(
            String(
                format: "frontend idle RSS: %.1f MB (target < 20 MB): %.1f MB anonymous + %.1f MB file pages (code and read-only data)",
                frontend.residentMegabytes(), parts.anonymous, parts.file))

        fake.mode.withLock { $0 = .fast(events: 5) }
        var direct: [Double] = []
        var proxied: [Double] = []
        for _ in 0..<samples {
            let first = try await api.createSession(token: token, connectionId: connection)
            direct.append(
                try await api.firstToken(url: api.base + "/api/chat/stream", body: #"{"sessionId":\#(first),"content":"hi"}"#, token: token))
            let second = try await api.createSession(token: token, connectionId: connection)
            proxied.append(
                try await proxy.firstToken(url: proxy.base + "/api/chat/stream", body: #"{"sessionId":\#(second),"content":"hi"}"#, token: token))
        }
        print(
            String(
                format: "time to first token through the frontend proxy, p50: backend %.3f ms, through proxy %.3f ms, added %.3f ms (target < 1 ms)",
                percentile(direct, 0.5), percentile(proxied, 0.5), percentile(proxied, 0.5) - percentile(direct, 0.5)))

        fake.mode.withLock { $0 = .fast(events: events) }
        let bulk = try await api.createSession(token: token, connectionId: connection)
        let (count, seconds) = try await proxy.countEvents(
            url: proxy.base + "/api/chat/stream", body: #"{"sessionId":\#(bulk),"content":"go"}"#, token: token)
        print(
            String(format: "proxy relay throughput: %d events in %.2f s = %.0f events/s (target ≥ 50,000)", count, seconds, Double(count) / seconds))

        // A long conversation: 500 exchanges, 1,000 messages.
        fake.mode.withLock { $0 = .fast(events: 5) }
        let long = try await api.createSession(token: token, connectionId: connection)
        for turn in 0..<500 {
            _ = try await api.countEvents(
                url: api.base + "/api/chat/stream", body: #"{"sessionId":\#(long),"content":"turn \#(turn)"}"#, token: token)
        }
        var renders: [Double] = []
        var html = ""
        for _ in 0..<max(20, samples / 4) {
            let (milliseconds, body) = try await proxy.page(proxy.base + "/main/\(long)", token: token)
            renders.append(milliseconds)
            html = body
        }
        let sessionCount = try await api.sessionCount(token: token)
        print(
            String(
                format: "chat page (/main/<id>, %d sessions, a 1,000-message chat) server response p50: %.2f ms (target < 10 ms)", sessionCount,
                percentile(renders, 0.5)))
        let (bytes, files) = try await proxy.pageWeight(base: proxy.base, html: html, token: token)
        print(String(format: "first page weight: %.1f KB compressed in %d files (target < 300 KB)", Double(bytes) / 1024, files))
    }
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
}
