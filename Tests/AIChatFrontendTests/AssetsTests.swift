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
