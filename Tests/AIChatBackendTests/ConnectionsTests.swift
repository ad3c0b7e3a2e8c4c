import AIChatCore
import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import SQLKit
import Testing

@testable import AIChatBackend

@Suite struct ConnectionsTests {
    static var body: [String: Any] {
        [
            "provider": "openai", "baseUrl": "https://api.example.com/v1/", "apiKey": "sk-live-abcdefghijklmnop1234",
            "headers": ["X-Org": "org-secret-value-9876"], "tags": [["name": "vision"]], "prefixId": "work",
        ]
    }

    @Test func keysAreNeverReturnedAndStoredEncrypted() async throws {
        try await withBackend { backend, client in
            let admin = try await client.register("admin")
            let created = try await client.call(.post, "/api/connections", json: Self.body, token: admin)
            #expect(created.status == .ok)
            #expect(created.json["message"]?.string == "Connection created")
            let data = try #require(created.data)
            #expect(data["apiKey"] == nil)
            #expect(data["hasApiKey"]?.bool == true)
            #expect(data["apiKeyHint"]?.string == "••••1234")
            #expect(data["baseUrl"]?.string == "https://api.example.com/v1")
            #expect(data["headers"]?["X-Org"]?.string == "••••9876")
            #expect(data["tags"]?[0]?["name"]?.string == "vision")
            #expect(!"\(created.json)".contains("abcdefghijklmnop"))
            let id = try #require(data["id"]?.int)
            let stored = try await backend.database.read { sql in
                try await sql.raw(#"SELECT "apiKey", "headersJson" FROM "connections" WHERE "id" = \#(bind: id)"#).first()
            }
            let key = try #require(try stored?.decode(column: "apiKey", as: String.self))
            #expect(key.hasPrefix("v2:"))
            #expect(try backend.cipher.decrypt(key) == "sk-live-abcdefghijklmnop1234")
            let listed = try await client.call(.get, "/api/connections", token: admin)
            #expect(listed.data?.array?.count == 1)
            #expect(!String(describing: listed.json).contains("sk-live"))

            // Masked header values sent back keep the stored value; a new value replaces it; no apiKey keeps the key.
            let updated = try await client.call(
                .put, "/api/connections/\(id)", json: ["headers": ["X-Org": "••••9876", "X-New": "plain"], "enable": false], token: admin
            )
            #expect(updated.status == .ok)
            #expect(updated.data?["enable"]?.bool == false)
            #expect(updated.data?["hasApiKey"]?.bool == true)
            let headers = try await backend.connections.find(id: id, in: .system)?.headers
            #expect(headers == ["X-Org": "org-secret-value-9876", "X-New": "plain"])
            let cleared = try await client.call(.put, "/api/connections/\(id)", json: ["apiKey": ""], token: admin)
            #expect(cleared.data?["hasApiKey"]?.bool == false)
        }
    }

    @Test func legacyKeysAreReadAndReencryptedOnUpdate() async throws {
        try await withBackend { backend, client in
            let admin = try await client.register("admin")
            let legacy = try SecretCipher.encryptLegacy(
                "sk-old-key-000011112222", passphrase: SecretCipher.originalDefaultPassphrase, salt: Data(repeating: 3, count: 8))
            try await backend.database.write { sql in
                try await sql.raw(
                    #"INSERT INTO "connections" ("provider", "baseUrl", "apiKey", "createdAt", "updatedAt") VALUES ('openai', 'https://x.example', \#(bind: legacy), 0, 0)"#
                ).run()
            }
            #expect(try await client.call(.get, "/api/connections", token: admin).data?[0]?["apiKeyHint"]?.string == "••••2222")
            _ = try await client.call(.put, "/api/connections/1", json: ["prefixId": "old"], token: admin)
            let stored = try #require(try await backend.connections.find(id: 1, in: .system)?.apiKey)
            #expect(stored.hasPrefix("v2:"))
            #expect(try backend.cipher.decrypt(stored) == "sk-old-key-000011112222")
        }
    }

    @Test(arguments: [
        (#"{"baseUrl":"https://x.example"}"#, "provider is required"),
        (#"{"provider":"openai"}"#, "baseUrl is required"),
        (#"{"provider":"bard","baseUrl":"https://x.example"}"#, "provider must be one of: openai, azure_openai, ollama, anthropic, google"),
        (#"{"provider":"openai","baseUrl":"ftp://x.example"}"#, "baseUrl must be an absolute http:// or https:// URL"),
        (#"{"provider":"openai","baseUrl":"not a url"}"#, "baseUrl must be an absolute http:// or https:// URL"),
        (#"{"provider":"openai","baseUrl":"https://u:p@x.example"}"#, "baseUrl must not contain a user name or password; use the API key field"),
        (
            #"{"provider":"openai","baseUrl":"https://x.example","authType":"magic"}"#,
            "authType must be one of: bearer, none, session, system_oauth, microsoft_entra_id"
        ),
        (
            #"{"provider":"openai","baseUrl":"https://x.example","headers":{"X-A":"a\r\nInjected: 1"}}"#,
            "headers value of X-A must be a single line of at most 8192 characters"
        ),
        (#"{"provider":"openai","baseUrl":"https://x.example","headers":{"Bad Name":"v"}}"#, "headers has an invalid header name \"Bad Name\""),
        (#"{"provider":"openai","baseUrl":"https://x.example","headers":["x"]}"#, "headers must be an object of header names to strings, not array"),
        (#"{"provider":"openai","baseUrl":"https://x.example","prefixId":"a.b"}"#, "prefixId may contain only letters, digits, - and _"),
        (#"{"provider":"openai","baseUrl":"https://x.example","tags":"vision"}"#, "tags must be an array of at most 32 tags"),
        (#"{"provider":"openai","baseUrl":"https://x.example","modelIds":[1]}"#, "modelIds must contain only strings"),
        (#"{"provider":"openai","baseUrl":"https://x.example","connectionType":"cloud"}"#, "connectionType must be one of: external, local"),
    ])
    func invalidConnectionsAre400(body: String, message: String) async throws {
        try await withBackend { _, client in
            let admin = try await client.register("admin")
            let reply = try await client.call(.post, "/api/connections", raw: body, token: admin)
            #expect(reply.status == .badRequest)
            #expect(reply.error == message)
        }
    }

    @Test func personalConnectionsAreScopedToTheirOwner() async throws {
        try await withBackend(["APP_MODE": "multi"]) { backend, client in
            let admin = try await client.register("admin")
            _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
            let alice = try await client.register("alice")
            let bob = try await client.register("bob")
            let mine = try await client.call(.post, "/api/connections/user", json: Self.body, token: alice)
            #expect(mine.data?["ownerUserId"]?.int == 2)
            let id = try #require(mine.data?["id"]?.int)
            #expect(try await client.call(.get, "/api/connections/user", token: bob).data?.array?.count == 0)
            #expect(try await client.call(.put, "/api/connections/user/\(id)", json: ["enable": false], token: bob).status == .notFound)
            #expect(try await client.call(.delete, "/api/connections/user/\(id)", token: bob).status == .notFound)
            // Admin routes manage system connections only.
            #expect(try await client.call(.put, "/api/connections/\(id)", json: ["enable": false], token: admin).status == .notFound)
            #expect(try await client.call(.get, "/api/connections", token: alice).status == .forbidden)
            #expect(try await client.call(.post, "/api/connections", json: Self.body, token: alice).status == .forbidden)
            #expect(try await client.call(.delete, "/api/connections/user/\(id)", token: alice).json["message"]?.string == "Connection deleted")
            #expect(try await backend.connections.list(.owner(2), enabledOnly: false).isEmpty)
            #expect(try await client.call(.delete, "/api/connections/abc", token: admin).error == "Invalid connection ID")
        }
    }

    @Test func verifyProbesTheProvider() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let admin = try await client.register("admin")
                let ok = try await client.call(
                    .post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "apiKey": "sk-abc"], token: admin)
                #expect(ok.status == .ok)
                #expect(ok.json["message"]?.string == "Connection verified")
                #expect(fake.received.last?.path == "/v1/models")
                #expect(fake.received.last?.headers["authorization"] == "Bearer sk-abc")
                let ollama = try await client.call(
                    .post, "/api/connections/verify", json: ["provider": "ollama", "baseUrl": fake.baseURL], token: admin)
                #expect(ollama.status == .ok)
                #expect(fake.received.last?.path == "/api/version")
                fake.setFallback(.status(401, body: #"{"error":{"message":"Incorrect API key provided: sk-abc"}}"#))
                let denied = try await client.call(
                    .post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "apiKey": "sk-abc"], token: admin)
                #expect(denied.status == .badRequest)
                #expect(denied.error?.hasPrefix("AI API request failed: 401") == true)
                #expect(denied.error?.contains("sk-abc") == false)
                let down = try await client.call(
                    .post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": "http://127.0.0.1:9/v1"], token: admin)
                #expect(down.status == .badRequest)
                #expect(down.error?.contains("connection refused") == true)
            }
        }
    }

    /// `SYSTEM_OAUTH_TOKEN` and `AZURE_ACCESS_TOKEN` reach only hosts an administrator configured: a personal
    /// connection cannot ask for them, and one stored with such an auth type (an older version let it) gets none.
    @Test func serverTokensGoToSystemConnectionsOnly() async throws {
        try await FakeProvider.run { fake in
            let env = [
                "APP_MODE": "multi", "PERSONAL_CONNECTIONS_ALLOWED_NETWORKS": "127.0.0.0/8", "SYSTEM_OAUTH_TOKEN": "server-oauth-token",
                "AZURE_ACCESS_TOKEN": "server-azure-token",
            ]
            try await withBackend(env) { backend, client in
                let admin = try await client.register("admin")
                _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
                let alice = try await client.register("alice")
                let oauth: [String: Any] = ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "authType": "system_oauth"]
                let entra: [String: Any] = ["provider": "azure_openai", "baseUrl": fake.baseURL, "authType": "microsoft_entra_id"]
                for body in [oauth, entra] {
                    for path in ["/api/connections/user", "/api/connections/verify"] {
                        let refused = try await client.call(.post, path, json: body, token: alice)
                        #expect(refused.status == .badRequest, "\(path)")
                        #expect(refused.json["details"]?[0]?["field"]?.string == "authType", "\(refused.json)")
                    }
                }
                let own = try await client.call(
                    .post, "/api/connections/user", json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1"], token: alice)
                let ownId = try #require(own.data?["id"]?.int)
                #expect(
                    try await client.call(.put, "/api/connections/user/\(ownId)", json: ["authType": "system_oauth"], token: alice).status
                        == .badRequest)
                #expect(
                    try await client.call(.post, "/api/connections/verify", json: ["connectionId": ownId, "authType": "system_oauth"], token: alice)
                        .status == .badRequest)
                #expect(fake.received.isEmpty)

                // A personal connection stored with system_oauth by an earlier version: its requests carry no token.
                try await backend.database.write { sql in
                    try await sql.raw("UPDATE connections SET authType = 'system_oauth' WHERE id = \(bind: ownId)").run()
                }
                _ = try await client.call(.post, "/api/catalog/models/refresh", token: admin)
                _ = try await client.call(.get, "/api/catalog/models", token: alice)
                // The admin's system connection with the same auth type does get it.
                _ = try await client.call(.post, "/api/connections/verify", json: oauth, token: admin)
                let authorizations = fake.received.map { $0.headers["authorization"] }
                #expect(authorizations.contains("Bearer server-oauth-token"))
                #expect(authorizations.filter { $0 == "Bearer server-oauth-token" }.count == 1, "\(authorizations)")
            }
        }
    }

    @Test func personalConnectionsCannotReachInternalAddressesUnlessAllowed() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi"]) { _, client in
                let admin = try await client.register("admin")
                _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
                let alice = try await client.register("alice")
                let probe: [String: Any] = ["provider": "openai", "baseUrl": fake.baseURL + "/v1"]
                let refused = try await client.call(.post, "/api/connections/verify", json: probe, token: alice)
                #expect(refused.status == .badRequest)
                #expect(refused.error?.contains("may not reach private or local network addresses") == true)
                #expect(fake.received.isEmpty)
                for url in ["http://169.254.169.254/latest", "http://metadata.google.internal/v1", "http://[::ffff:169.254.169.254]/"] {
                    let metadata = try await client.call(
                        .post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": url], token: alice)
                    #expect(
                        metadata.error?.contains("not allowed") == true || metadata.error?.contains("private") == true, "\(url): \(metadata.json)")
                }
                // The allow-list opens only what it names.
                let badList = try await client.call(
                    .put, "/api/settings/system", json: ["personal_connections_allowed_networks": "10.0.0.0/8, nonsense"], token: admin)
                #expect(badList.status == .badRequest)
                #expect(badList.error?.contains("nonsense") == true)
                _ = try await client.call(.put, "/api/settings/system", json: ["personal_connections_allowed_networks": "10.0.0.0/8"], token: admin)
                #expect(try await client.call(.post, "/api/connections/verify", json: probe, token: alice).status == .badRequest)
                let saved = try await client.call(
                    .put, "/api/settings/system", json: ["personal_connections_allowed_networks": "127.0.0.1/32,10.0.0.0/8"], token: admin)
                #expect(saved.json["data"]?["personal_connections_allowed_networks"]?.string == "127.0.0.1/32, 10.0.0.0/8")
                #expect(try await client.call(.post, "/api/connections/verify", json: probe, token: alice).status == .ok)
                let metadata = try await client.call(
                    .post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": "http://169.254.169.254"], token: alice)
                #expect(metadata.error == "Connection refused: cloud metadata addresses are not allowed")
            }
        }
    }

    /// A personal connection given by name is sent to the address that was checked (IPv4 first), with the name
    /// kept in the URL, so in `Host` and the TLS handshake; unchecked requests resolve the name themselves.
    @Test func guardedRequestsGoToTheCheckedAddress() async throws {
        #expect(ProviderGateway.connectAddress(["::1", "127.0.0.1"]) == "127.0.0.1")
        #expect(ProviderGateway.connectAddress(["2001:db8::5"]) == "2001:db8::5")
        #expect(ProviderGateway.connectAddress([]) == nil)

        // Pinned: a name that does not resolve at all still reaches the address given, and keeps its name in `Host`.
        try await FakeProvider.run { fake in try await Self.pinnedRequestsReachTheirAddress(fake) }

        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi", "PERSONAL_CONNECTIONS_ALLOWED_NETWORKS": "127.0.0.0/8"]) { _, client in
                let admin = try await client.register("admin")
                _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
                let alice = try await client.register("alice")
                let byName = "http://localhost:\(fake.port)/v1"
                let verified = try await client.call(.post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": byName], token: alice)
                #expect(verified.status == .ok)
                let request = try #require(fake.received.last)
                #expect(request.headers["host"] == "localhost:\(fake.port)")
            }
        }
    }

    static func pinnedRequestsReachTheirAddress(_ fake: FakeProvider) async throws {
        let http = ProviderHTTPClient()
        let url = "http://pinned.invalid:\(fake.port)/v1/models"
        let response = try await http.execute(
            HTTPClientRequest(url: url), connectingTo: "127.0.0.1", deadline: .now() + .seconds(10), logger: TestEnv.logger)
        #expect(response.status == .ok)
        _ = try await response.body.collect(upTo: 1 << 20)
        response.close()
        #expect(fake.received.last?.headers["host"] == "pinned.invalid:\(fake.port)")
        var unpinnedFailed = false
        do {
            _ = try await http.execute(HTTPClientRequest(url: url), connectingTo: nil, deadline: .now() + .seconds(10), logger: TestEnv.logger)
        } catch {
            unpinnedFailed = true
        }
        #expect(unpinnedFailed, "without the pin the name does not resolve")
        await http.shutdown()
    }

    /// The session and its connection in one read: only the owner's session, only a connection visible to them.
    @Test func sessionAndConnectionAreReadTogetherForTheOwnerOnly() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi"]) { backend, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let alice = try await chat.registerAnother("alice", client)
                let admin = try #require(try await backend.users.find(username: "admin"))
                let aliceUser = try #require(try await backend.users.find(username: "alice"))
                let personal = try await client.call(
                    .post, "/api/connections/user", json: ["provider": "openai", "baseUrl": "https://models.example/v1", "modelIds": ["m"]],
                    token: alice
                )
                let personalId = try #require(personal.data?["id"]?.int, "\(personal.json)")

                let found = try #require(try await backend.sessions.findWithConnection(id: chat.sessionId, userId: admin.id))
                #expect(found.session.id == chat.sessionId)
                #expect(found.connection?.id == chat.connectionId)
                #expect(found.connection?.apiKey.isEmpty == false)
                #expect(try await backend.sessions.findWithConnection(id: chat.sessionId, userId: aliceUser.id) == nil)

                // A session pointing at someone else's personal connection gets no connection.
                try await backend.database.write { sql in
                    try await sql.raw("UPDATE \"chat_sessions\" SET \"connectionId\" = \(bind: personalId) WHERE \"id\" = \(bind: chat.sessionId)")
                        .run()
                }
                let foreign = try #require(try await backend.sessions.findWithConnection(id: chat.sessionId, userId: admin.id))
                #expect(foreign.connection == nil)
            }
        }
    }

    /// Cloud metadata endpoints are refused for system connections too, in every spelling of their address,
    /// and whatever the allow-list says.
    @Test func metadataAddressesAreRefusedForEveryConnection() async throws {
        let spellings = [
            "http://169.254.169.254/latest", "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]/",
            "http://[fd00:ec2::254]/", "http://[fd00:0ec2:0:0:0:0:0:0254]/", "http://[0:0:0:0:0:ffff:a9fe:a9fe]/", "http://metadata.google.internal/",
        ]
        let outbound = OutboundGuard()
        for url in spellings {
            for policy in [OutboundGuard.Policy.system, .personal(allowed: [IPNetwork("0.0.0.0/0")!, IPNetwork("::/0")!])] {
                await #expect(throws: OutboundGuard.Refusal(reason: "cloud metadata addresses are not allowed"), "\(url)") {
                    try await outbound.check(url, policy: policy)
                }
            }
        }
        #expect(try await outbound.check("http://127.0.0.1:9/", policy: .system) == ["127.0.0.1"])
        try await withBackend { _, client in
            let admin = try await client.register("admin")
            let refused = try await client.call(
                .post, "/api/connections/verify", json: ["provider": "openai", "baseUrl": "http://[::ffff:a9fe:a9fe]/v1"], token: admin)
            #expect(refused.error == "Connection refused: cloud metadata addresses are not allowed")
        }
    }

    @Test func addressRangesCompareBytes() throws {
        let lan = try #require(IPNetwork("192.168.1.0/24"))
        #expect(lan.contains(try #require(IPAddress("192.168.1.77"))))
        #expect(lan.contains(try #require(IPAddress("::ffff:192.168.1.77"))))
        #expect(!lan.contains(try #require(IPAddress("192.168.2.1"))))
        #expect(IPNetwork("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPNetwork("fd00::1/129") == nil)
        #expect(IPNetwork("127.1") == nil)
        #expect(throws: IPNetwork.InvalidNetwork.self) { try IPNetwork.list("10.0.0.0/8 300.1.1.1") }
        #expect(try IPNetwork.list(" 10.0.0.0/8, fd00::/8 ,,").map(\.description) == ["10.0.0.0/8", "fd00::/8"])
    }

    @Test func addressClassification() {
        for address in ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.1.1", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1"] {
            #expect(OutboundGuard.isInternal(address), "\(address)")
        }
        for external in ["8.8.8.8", "203.0.113.9", "172.32.0.1", "2606:4700::1111"] {
            #expect(!OutboundGuard.isInternal(external), "\(external)")
        }
        #expect(OutboundGuard.isInternal("::FFFF:10.0.0.1"))
        #expect(OutboundGuard.isInternal("64:ff9b::7f00:1"))
        #expect(IPAddress("::ffff:10.0.0.1")?.connectText == "10.0.0.1")
    }
}
