import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// An OpenAI-compatible provider that answers from memory: `fast` writes all events at once (pre-encoded),
/// `slow` writes one event per interval.
final class FakeOpenAI: Sendable {
    enum Mode: Sendable {
        case fast(events: Int)
        case slow(events: Int, interval: Duration)
    }

    let mode = Mutex(Mode.fast(events: 5))
    static let event = ByteBuffer(string: #"data: {"choices":[{"index":0,"delta":{"content":"tok "}}]}"# + "\n\n")
    static let tail = ByteBuffer(
        string: #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n"
            + #"data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"# + "\n\ndata: [DONE]\n\n"
    )

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/models") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"data":[{"id":"m"}]}"#)))
        }
        router.post("/v1/chat/completions") { request, _ -> Response in
            var request = request
            _ = try await request.collectBody(upTo: 1 << 24)
            let mode = self.mode.withLock { $0 }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    switch mode {
                        case .fast(let events):
                            var batch = ByteBuffer()
                            for index in 0..<events {
                                batch.writeImmutableBuffer(Self.event)
                                if index % 256 == 255 {
                                    try await writer.write(batch)
                                    batch.clear()
                                }
                            }
                            batch.writeImmutableBuffer(Self.tail)
                            try await writer.write(batch)
                        case .slow(let events, let interval):
                            for _ in 0..<events {
                                try await Task.sleep(for: interval)
                                try await writer.write(Self.event)
                            }
                            try await writer.write(Self.tail)
                    }
                    try await writer.finish(nil)
                }
            )
        }
        return router
    }
}

/// The backend (or frontend) binary under test, on a free port with a fresh data folder.
final class BackendProcess: Sendable {
    let process: Process
    let port: Int
    let directory: String

    /// The frontend, proxying to the backend on `backendPort`, reading `Resources/` from `resources`.
    convenience init(frontend path: String, backendPort: Int, resources: String) throws {
        try self.init(
            path: path, port: try Self.freePort(), folder: "aichat-bench-frontend-",
            environment: ["BACKEND_HOST": "127.0.0.1", "BACKEND_INTERNAL_PORT": String(backendPort), "RESOURCES_DIR": resources]
        )
    }

    /// A port no socket uses now, as the kernel picks one for a listener on port 0 (a fixed random range can meet a
    /// port the system handed out for an outgoing connection).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("no socket for a port probe") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The backend on a fresh database; with `BENCH_BACKEND_PORT` set, the one already running there.
    convenience init(path: String) throws {
        let running = ProcessInfo.processInfo.environment["BENCH_BACKEND_PORT"].flatMap(Int.init)
        try self.init(
            path: path, port: try running ?? Self.freePort(), folder: "aichat-bench-",
            environment: ["BCRYPT_COST": "4", "PERSONAL_CONNECTIONS_ALLOWED_NETWORKS": "127.0.0.0/8"], databaseInFolder: true, launch: running == nil
        )
    }

    private init(
        path: String, port: Int, folder: String, environment extra: [String: String], databaseInFolder: Bool = false, launch: Bool = true
    ) throws {
        self.port = port
        self.directory = NSTemporaryDirectory() + folder + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.currentDirectoryURL = URL(fileURLWithPath: self.directory)
        var environment = ProcessInfo.processInfo.environment
        environment["PORT"] = String(port)
        environment["HOST"] = "127.0.0.1"
        environment["LOG_LEVEL"] = "error"
        environment["APP_ENV"] = "production"
        if databaseInFolder { environment["DATABASE_URL"] = "file:\(self.directory)/app.db" }
        environment.merge(extra) { $1 }
        process.environment = environment
        if launch { try process.run() }
        self.process = process
    }

    func waitUntilHealthy(client: HTTPClient, path: String = "/api/settings/health") async throws {
        for _ in 0..<1200 {
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(self.port)\(path)"), timeout: .seconds(1)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the backend did not become healthy")
    }

    /// Resident set size of the backend process.
    func residentMegabytes() -> Double {
        self.statusMegabytes("VmRSS:")
    }

    /// The resident set split into anonymous memory (heap, stacks, written data) and file pages (the executable's
    /// and the libraries' code and read-only data, which the page cache shares and can drop).
    func residentParts() -> (anonymous: Double, file: Double) {
        (self.statusMegabytes("RssAnon:"), self.statusMegabytes("RssFile:"))
    }

    private func statusMegabytes(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(self.process.processIdentifier)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes / 1024
    }

    /// Stops the server with SIGTERM (its graceful shutdown), and with SIGKILL if it is still there after 30 s, so
    /// that no server outlives a run (a leftover one would hold the benchmark's output pipe open and share the
    /// CPU with the next run). Liveness is read from /proc, not from `Process`'s own bookkeeping.
    func stop() {
        let pid = self.process.processIdentifier
        if pid > 0, Self.alive(pid) {
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(30)
            while Self.alive(pid), ContinuousClock.now < deadline { usleep(20_000) }
            if Self.alive(pid) { kill(pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Whether `pid` is a process that has not exited (an exited one not yet reaped is a zombie, state Z).
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
        return state != "Z" && state != "X"
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The few API calls the benchmark makes.
struct API: Sendable {
    let client: HTTPClient
    let base: String

    func post(_ path: String, _ body: String, token: String?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: self.base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await self.send(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any], json["success"] as? Bool == true else {
            throw BenchError("\(path) failed: \(String(decoding: data, as: UTF8.self))")
        }
        return json
    }

    func register() async throws -> String {
        let json = try await self.post("/api/auth/register", #"{"username":"bench","password":"benchpass1"}"#, token: nil)
        guard let data = json["data"] as? [String: Any], let token = data["token"] as? String else { throw BenchError("no token") }
        return token
    }

    func createConnection(token: String, baseURL: String) async throws -> Int {
        let json = try await self.post(
            "/api/connections", #"{"provider":"openai","baseUrl":"\#(baseURL)","authType":"none","modelIds":["m"]}"#, token: token)
        guard let data = json["data"] as? [String: Any], let id = data["id"] as? Int else { throw BenchError("no connection id") }
        return id
    }

    /// How many sessions the user has (from the list's pagination).
    func sessionCount(token: String) async throws -> Int {
        var request = HTTPClientRequest(url: self.base + "/api/sessions?limit=1")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await self.send(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any], let body = json["data"] as? [String: Any],
            let pagination = body["pagination"] as? [String: Any], let total = pagination["total"] as? Int
        else { throw BenchError("no session count: \(String(decoding: data, as: UTF8.self))") }
        return total
    }

    func createSession(token: String, connectionId: Int) async throws -> Int {
        let json = try await self.post("/api/sessions", #"{"connectionId":\#(connectionId),"rawId":"m"}"#, token: token)
        guard let data = json["data"] as? [String: Any], let id = data["id"] as? Int else { throw BenchError("no session id") }
        return id
    }

    /// Sends a request, retrying twice when a pooled connection turns out to be closed already.
    func send(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> HTTPClientResponse {
        var attempt = 0
        while true {
            do {
                return try await self.client.execute(request, timeout: timeout)
            } catch let error as ChannelError where attempt < 2 && error == .ioOnClosedChannel {
                attempt += 1
            } catch let error as HTTPClientError where attempt < 2 && (error == .remoteConnectionClosed || error == .connectTimeout) {
                attempt += 1
            }
        }
    }

    func streamRequest(url: String, body: String, token: String?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(string: body))
        return request
    }

    /// Milliseconds to fetch a page with the session cookie (server-side rendering, including its API calls).
    func page(_ url: String, token: String) async throws -> (Double, String) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Cookie", value: "token=\(token)")
        let started = ContinuousClock.now
        let response = try await self.client.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 16 << 20))
        let elapsed = started.duration(to: .now)
        guard response.status == .ok else { throw BenchError("\(url) answered \(response.status.code)") }
        return (Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15, body)
    }

    /// Compressed bytes of a page and every script, style and static module import it loads at start.
    func pageWeight(base: String, html: String, token: String) async throws -> (Int, Int) {
        var pending = Self.references(in: html, relativeTo: "/")
        var seen = Set<String>()
        var total = html.utf8.count
        var files = 1
        while let path = pending.popLast() {
            guard seen.insert(path).inserted else { continue }
            var request = HTTPClientRequest(url: base + path)
            request.headers.add(name: "Accept-Encoding", value: "gzip")
            request.headers.add(name: "Cookie", value: "token=\(token)")
            let response = try await self.client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 32 << 20)
            total += body.readableBytes
            files += 1
            if path.hasSuffix(".js"), response.headers.first(name: "content-encoding") == nil {
                pending += Self.references(in: String(buffer: body), relativeTo: path)
            } else if path.hasSuffix(".js"), let plain = try? await self.client.execute(HTTPClientRequest(url: base + path), timeout: .seconds(30)) {
                let text = String(buffer: try await plain.body.collect(upTo: 32 << 20))
                pending += Self.references(in: text, relativeTo: path)
            }
        }
        return (total, files)
    }

    /// `src="…"`, stylesheet `href="…"` and static `import … from './x.js'` paths, resolved against `base`.
    static func references(in text: String, relativeTo base: String) -> [String] {
        var found: [String] = []
        let patterns = [
            #"<script[^>]*\ssrc="([^"]+)""#, #"<link[^>]*rel="stylesheet"[^>]*href="([^"]+)""#, #"(?:from|import)\s*['"]([^'"]+\.js)['"]"#,
        ]
        for pattern in patterns {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            let range = NSRange(text.startIndex..., in: text)
            for match in regex.matches(in: text, range: range) {
                guard let r = Range(match.range(at: 1), in: text) else { continue }
                let reference = String(text[r])
                if reference.hasPrefix("http") { continue }
                if reference.hasPrefix("/") {
                    found.append(reference)
                } else {
                    var folder = base.split(separator: "/").dropLast().map(String.init)
                    for part in reference.split(separator: "/") {
                        if part == ".." { _ = folder.popLast() } else if part != "." { folder.append(String(part)) }
                    }
                    found.append("/" + folder.joined(separator: "/"))
                }
            }
        }
        return found
    }

    /// Milliseconds until the first content delta arrives; the rest of the body is drained.
    func firstToken(url: String, body: String, token: String?) async throws -> Double {
        let started = ContinuousClock.now
        let response = try await self.send(self.streamRequest(url: url, body: body, token: token), timeout: .seconds(60))
        var first: Duration?
        var text = ""
        for try await chunk in response.body {
            if first == nil {
                text += String(buffer: chunk)
                if text.contains(#""content":"tok"#) || text.contains(#""content":"tok "#) { first = started.duration(to: .now) }
            }
        }
        guard let first else { throw BenchError("no content event from \(url)") }
        return Double(first.components.seconds) * 1000 + Double(first.components.attoseconds) / 1e15
    }

    /// Counts content events of a streamed answer; returns the count and the seconds it took.
    func countEvents(url: String, body: String, token: String?) async throws -> (Int, Double) {
        let started = ContinuousClock.now
        let response = try await self.send(self.streamRequest(url: url, body: body, token: token), timeout: .seconds(600))
        let marker = Array(#""type":"content""#.utf8)
        var count = 0
        var carry: [UInt8] = []
        for try await chunk in response.body {
            var bytes = carry
            bytes.append(contentsOf: chunk.readableBytesView)
            var index = 0
            while index + marker.count <= bytes.count {
                if bytes[index] == marker[0], Array(bytes[index..<(index + marker.count)]) == marker {
                    count += 1
                    index += marker.count
                } else {
                    index += 1
                }
            }
            carry = Array(bytes.suffix(marker.count - 1))
        }
        let elapsed = started.duration(to: .now)
        return (count, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
