import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The files under `Resources/public`, read once at start-up.
///
/// Files up to ``inMemoryLimit`` stay in memory; larger ones are read from disk when asked for, which browsers
/// rarely do: the versioned URLs are cached for good.
///
/// Each is served at `/static/<path>` (revalidated with its ETag) and at `/static/<version>/<path>`, where
/// `version` is a digest of all files, with a one-year `immutable` lifetime: pages link the versioned URLs, so a
/// new release is fetched at once and an unchanged one never is. A `<file>.gz` sibling made by
/// `scripts/compress-assets.sh` is sent instead when the browser accepts gzip, unless it is older than its source.
struct StaticAssets: Sendable {
    /// The bytes of one variant of a file: held in memory, or a file on disk of a known size.
    enum Content: Sendable {
        case memory(ByteBuffer)
        case file(path: String, size: Int)

        var size: Int {
            switch self {
                case .memory(let buffer): buffer.readableBytes
                case .file(_, let size): size
            }
        }
    }

    struct Asset: Sendable {
        let body: Content
        let gzip: Content?
        let contentType: String
        let etag: String
    }

    /// Files larger than this are served from disk: the vendored libraries, their fonts and the larger scripts.
    static let inMemoryLimit = 16 << 10

    let assets: [String: Asset]
    /// Digest of every file, 12 hex digits.
    let version: String

    static let contentTypes: [String: String] = [
        "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "json": "application/json; charset=utf-8", "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon",
        "woff2": "font/woff2", "woff": "font/woff", "ttf": "font/ttf", "txt": "text/plain; charset=utf-8",
        "webmanifest": "application/manifest+json",
    ]

    let fileIO = FileIO()

    init(directory: String) throws {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw Localization.LoadError(description: "missing static folder \(directory)")
        }
        var files: [String: Data] = [:]
        var modified: [String: Date] = [:]
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            if path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            files[path] = try Data(contentsOf: url)
            modified[path] = try url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate
        }
        var assets: [String: Asset] = [:]
        var combined = Digest()
        for path in files.keys.sorted() where !path.hasSuffix(".gz") {
            let data = files[path]!
            let digest = Digest(data).hex
            combined.add(Data(path.utf8))
            combined.add(Data(digest.utf8))
            let ext = path.split(separator: ".").last.map { String($0).lowercased() } ?? ""
            let type = Self.contentTypes[ext] ?? (path.contains(".") ? "application/octet-stream" : "text/plain; charset=utf-8")
            // A sibling older than its source is stale (the source was edited since): serve the source only.
            var gzip = files[path + ".gz"]
            if let source = modified[path], let compressed = modified[path + ".gz"], compressed < source { gzip = nil }
            func content(_ data: Data, _ path: String) -> Content {
                data.count > Self.inMemoryLimit ? .file(path: root.path + "/" + path, size: data.count) : .memory(ByteBuffer(data: data))
            }
            assets[path] = Asset(
                body: content(data, path), gzip: gzip.map { content($0, path + ".gz") }, contentType: type, etag: "\"\(digest)\""
            )
        }
        self.assets = assets
        self.version = String(combined.hex.prefix(12))
    }

    /// The URL prefix of versioned assets, e.g. `/static/0123456789ab`.
    var prefix: String { "/static/\(self.version)" }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/static/**") { request, context in try await self.serve(request, path: context.parameters.getCatchAll(), context: context) }
        router.head("/static/**") { request, context in
            var response = try await self.serve(request, path: context.parameters.getCatchAll(), context: context)
            let length = response.headers[.contentLength] ?? response.body.contentLength.map(String.init)
            response.body = .init()
            response.headers[.contentLength] = length
            return response
        }
    }

    /// The response for `path`. A file on disk is read only as the body is written.
    func serve(_ request: Request, path components: [Substring], context: some RequestContext) async throws -> Response {
        var parts = components
        var immutable = false
        if let first = parts.first, first.count == 12, first.allSatisfy(\.isHexDigit) {
            immutable = first == self.version
            parts.removeFirst()
        }
        guard let asset = self.assets[parts.joined(separator: "/")] else { throw HTTPError(.notFound) }
        let acceptsGzip = request.headers[.acceptEncoding].map { $0.lowercased().contains("gzip") } ?? false
        let body = acceptsGzip ? asset.gzip ?? asset.body : asset.body
        let compressed = acceptsGzip && asset.gzip != nil
        let etag = compressed ? String(asset.etag.dropLast()) + "-gz\"" : asset.etag
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .eTag: etag,
            .cacheControl: immutable ? "public, max-age=31536000, immutable" : "no-cache",
        ]
        if asset.gzip != nil { headers[.vary] = "Accept-Encoding" }
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        if compressed { headers[.contentEncoding] = "gzip" }
        switch body {
            case .memory(let buffer):
                headers[.contentLength] = String(buffer.readableBytes)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
            case .file(let path, _):
                // The body states its own length (the file's, should it have changed since start-up).
                return Response(status: .ok, headers: headers, body: try await self.fileIO.loadFile(path: path, context: context))
        }
    }
}

/// A 64-bit FNV-1a digest: enough to tell file versions apart, with no dependency.
struct Digest {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325

    init() {}

    init(_ data: Data) {
        self.add(data)
    }

    mutating func add(_ data: Data) {
        var value = self.value
        data.withUnsafeBytes { bytes in
            for byte in bytes {
                value ^= UInt64(byte)
                value = value &* 0x100_0000_01b3
            }
        }
        self.value = value
    }

    var hex: String {
        let text = String(self.value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
