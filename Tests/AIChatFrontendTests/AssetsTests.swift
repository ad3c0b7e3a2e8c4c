import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AIChatFrontend

@Suite struct AssetsTests {
    @Test func versionedAssetsAreImmutableAndOthersRevalidate() async throws {
        let assets = try StaticAssets(directory: TestResources.directory + "/public")
        try await withFrontend(backendPort: 9) { client in
            var etag = ""
            try await client.execute(uri: "\(assets.prefix)/css/app.css", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                etag = try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/static/css/app.css", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.headers[.cacheControl] == "no-cache")
            }
            // An old version's URL still answers, but is not cached for good.
            try await client.execute(uri: "/static/000000000000/js/main.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
            }
            try await client.execute(uri: "/static/../Package.swift", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/static/vendor/katex/copyright", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
            }
        }
    }

    @Test func gzipSiblingsAreServedWhenAccepted() async throws {
        let root = TestResources.directory + "/public"
        let assets = try StaticAssets(directory: root)
        // Both kinds: a small file held in memory and a large one (a vendored library) read from disk.
        let small = try #require(assets.assets.first { $0.value.gzip != nil && $0.value.body.size <= StaticAssets.inMemoryLimit })
        let large = try #require(assets.assets.first { $0.value.gzip != nil && $0.value.body.size > StaticAssets.inMemoryLimit })
        guard case .file = large.value.body, case .memory = small.value.body else {
            Issue.record("large files should stay on disk, small ones in memory")
            return
        }
        try await withFrontend(backendPort: 9) { client in
            for (path, asset) in [small, large] {
                let source = try #require(FileManager.default.contents(atPath: "\(root)/\(path)"))
                let packed = try #require(FileManager.default.contents(atPath: "\(root)/\(path).gz"))
                try await client.execute(uri: "/static/\(path)", method: .get, headers: [.acceptEncoding: "gzip, br"]) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentEncoding] == "gzip")
                    #expect(response.headers[.vary] == "Accept-Encoding")
                    #expect(response.headers[.contentLength] == String(packed.count))
                    #expect(Array(response.body.readableBytesView) == Array(packed))
                }
                try await client.execute(uri: "/static/\(path)", method: .get) { response in
                    #expect(response.headers[.contentEncoding] == nil)
                    #expect(response.headers[.contentType] == asset.contentType)
                    #expect(response.headers[.contentLength] == String(source.count))
                    #expect(Array(response.body.readableBytesView) == Array(source))
                }
                try await client.execute(uri: "/static/\(path)", method: .head) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentLength] == String(source.count))
                    #expect(response.body.readableBytes == 0)
                }
            }
        }
    }

    /// Every `.gz` sibling must decompress to its source: edit a file, run `scripts/compress-assets.sh`.
    @Test func gzipSiblingsMatchTheirSources() throws {
        let root = TestResources.directory + "/public"
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".gz") } ?? []
        #expect(!files.isEmpty)
        for file in files {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["gzip", "-dc", "\(root)/\(file)"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let source = FileManager.default.contents(atPath: "\(root)/\(file.dropLast(3))")
            #expect(data == source, "\(file) is stale: run scripts/compress-assets.sh")
        }
    }

    /// `vendor/VERSIONS.json` records the sha256 of every vendored file, and the KaTeX it records is the one shipped,
    /// past 0.16.10 (before it, `\edef` and friends escaped `maxExpand`: CVE-2024-28243 and its family).
    /// `scripts/vendor-check.sh` checks the same outside the tests.
    @Test func vendoredFilesMatchTheirManifest() throws {
        let vendor = TestResources.directory + "/public/vendor"
        let data = try #require(FileManager.default.contents(atPath: "\(vendor)/VERSIONS.json"))
        let object = try JSONSerialization.jsonObject(with: data)
        let manifest = try #require(object as? [String: Any])
        let libraries = try #require(manifest["libraries"] as? [[String: Any]])
        var expected: [String: String] = [:]
        var versions: [String: String] = [:]
        for library in libraries {
            let name = try #require(library["name"] as? String)
            versions[name] = try #require(library["version"] as? String)
            let files = try #require(library["files"] as? [String: String])
            expected.merge(files) { first, _ in first }
        }
        #expect(expected.count > 20)
        let actual = try Self.sha256(of: expected.keys.sorted(), in: vendor)
        for (path, digest) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(actual[path] == digest, "\(path) does not match VERSIONS.json")
        }

        let bundle = try String(contentsOfFile: "\(vendor)/katex/katex.min.js", encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"version:"([0-9.]+)""#)
        let found = try #require(regex.firstMatch(in: bundle, range: NSRange(bundle.startIndex..., in: bundle)))
        let range = try #require(Range(found.range(at: 1), in: bundle))
        let version = String(bundle[range])
        let recorded = versions["KaTeX"] ?? "nothing"
        #expect(version == recorded, "katex.min.js is \(version), VERSIONS.json says \(recorded)")
        let parts = version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3 && !parts.lexicographicallyPrecedes([0, 16, 10]), "KaTeX \(version) predates the fixes of 0.16.10")
    }

    /// Formulas are model output: markdown.js hands them to KaTeX as untrusted input, with limits.
    @Test func formulasRenderWithLimits() throws {
        let script = try String(contentsOfFile: TestResources.directory + "/public/js/markdown.js", encoding: .utf8)
        for setting in ["trust: false", "maxExpand: 1000", "maxSize: 10", "maxFormula = 2000"] {
            #expect(script.contains(setting), "markdown.js no longer sets \(setting)")
        }
    }

    /// sha256 digests by path (relative to `folder`) from `sha256sum`: Foundation has none, and this target does not
    /// link swift-crypto.
    private static func sha256(of paths: [String], in folder: String) throws -> [String: String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", "--"] + paths
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var digests: [String: String] = [:]
        // Lines read `<digest>  <path>` (or `<digest> *<path>`).
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            digests[String(parts[1].drop { $0 == " " || $0 == "*" })] = String(parts[0])
        }
        return digests
    }

    @Test func aMissingTemplateStopsStartUp() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aichat-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "{{$body}}{{/body}}".write(to: folder.appendingPathComponent("layout.mustache"), atomically: true, encoding: .utf8)
        await #expect(throws: PageRenderer.MissingTemplate.self) { try await PageRenderer(directory: folder.path) }
    }

    /// Every key the templates and scripts use exists in both languages, and both languages have the same keys.
    @Test func everyStringExistsInBothLanguages() throws {
        let localization = try Localization(directory: TestResources.directory + "/i18n")
        let zh = localization(.zhCN).keys
        let en = localization(.en).keys
        #expect(zh == en, "keys only in one language: \(zh.symmetricDifference(en).sorted())")
        var used: Set<String> = []
        let root = TestResources.directory
        for (folder, pattern) in [("templates", #"\{\{t\.([A-Za-z0-9_.]+)\}\}"#), ("public/js", #"\bt\('([A-Za-z0-9_.]+)'"#)] {
            let regex = try NSRegularExpression(pattern: pattern)
            for file in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")
            where file.hasSuffix(".js") || file.hasSuffix(".mustache") {
                let text = try String(contentsOfFile: "\(root)/\(folder)/\(file)", encoding: .utf8)
                for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    used.insert(String(text[Range(match.range(at: 1), in: text)!]))
                }
            }
        }
        #expect(used.count > 100)
        let missing = used.subtracting(zh)
        #expect(missing.isEmpty, "missing strings: \(missing.sorted())")
    }

    @Test func embeddedJSONCannotCloseTheScript() {
        #expect(PageJSON.scriptSafe(#"{"a":"</script><!--&"}"#) == #"{"a":"\u003c/script\u003e\u003c!--\u0026"}"#)
    }
}
