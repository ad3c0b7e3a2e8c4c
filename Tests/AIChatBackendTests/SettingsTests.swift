import AIChatCore
import Foundation
import HummingbirdTesting
import Testing

@testable import AIChatBackend

@Suite struct SettingsTests {
    @Test func systemSettingsHaveEveryKeyWithDefaults() async throws {
        try await withBackend(["DEFAULT_CONTEXT_TOKEN_LIMIT": "120000", "SSE_HEARTBEAT_INTERVAL_MS": "20000"]) { _, client in
            let admin = try await client.register("admin")
            let reply = try await client.call(.get, "/api/settings/system", token: admin)
            #expect(reply.status == .ok)
            let data = try #require(reply.data?.object)
            let expected: [String: JSONValue] = [
                "registration_enabled": .bool(false), "app_mode": .string("single"), "max_context_tokens": .number(120000),
                "brand_text": .string("AIChat"), "sse_heartbeat_interval_ms": .number(20000), "provider_max_idle_ms": .number(60000),
                "provider_timeout_ms": .number(300000), "usage_emit": .bool(true), "usage_provider_only": .bool(false),
                "reasoning_enabled": .bool(true), "reasoning_default_expand": .bool(false), "reasoning_save_to_db": .bool(true),
                "reasoning_tags_mode": .string("default"), "reasoning_custom_tags": .string(""), "stream_delta_chunk_size": .number(1),
                "openai_reasoning_effort": .string(""), "ollama_think": .bool(false), "personal_connections_allowed_networks": .string(""),
                "title_by_model": .bool(false),
            ]
            #expect(data == expected)
        }
    }

    @Test func updatesAreValidatedAndClearable() async throws {
        try await withBackend { _, client in
            let admin = try await client.register("admin")
            let update = try await client.call(
                .put, "/api/settings/system",
                json: [
                    "brand_text": "  Team Chat ", "sse_heartbeat_interval_ms": 5000, "reasoning_tags_mode": "custom",
                    "reasoning_custom_tags": #"["<t>","</t>"]"#, "openai_reasoning_effort": "high", "usage_emit": false,
                    "unknown_key": "ignored",
                ],
                token: admin
            )
            #expect(update.status == .ok)
            #expect(update.json["message"]?.string == "System settings updated successfully")
            #expect(update.data?["brand_text"]?.string == "Team Chat")
            #expect(update.data?["openai_reasoning_effort"]?.string == "high")
            #expect(update.data?["usage_emit"]?.bool == false)

            // "" and null clear optional keys back to their defaults (the original rejected "").
            let cleared = try await client.call(
                .put, "/api/settings/system", json: ["openai_reasoning_effort": "", "brand_text": NSNull(), "reasoning_custom_tags": ""], token: admin
            )
            #expect(cleared.status == .ok)
            #expect(cleared.data?["openai_reasoning_effort"]?.string == "")
            #expect(cleared.data?["brand_text"]?.string == "AIChat")
            #expect(cleared.data?["reasoning_custom_tags"]?.string == "")
            #expect(cleared.data?["sse_heartbeat_interval_ms"]?.int == 5000)
        }
    }

    @Test(arguments: [
        (#"{"sse_heartbeat_interval_ms":10}"#, "sse_heartbeat_interval_ms must be an integer from 1000 to 600000"),
        (#"{"sse_heartbeat_interval_ms":"5000"}"#, "sse_heartbeat_interval_ms must be a number, not string"),
        (#"{"provider_timeout_ms":15000.5}"#, "provider_timeout_ms must be an integer from 10000 to 3600000"),
        (#"{"registration_enabled":"yes"}"#, "registration_enabled must be a boolean, not string"),
        (#"{"reasoning_tags_mode":"loud"}"#, "reasoning_tags_mode must be one of: default, custom, off"),
        (#"{"openai_reasoning_effort":"max"}"#, "openai_reasoning_effort must be one of: low, medium, high"),
        (#"{"brand_text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#, "brand_text must be at most 40 characters"),
        (
            #"{"reasoning_custom_tags":"<think>"}"#,
            #"reasoning_custom_tags must be a JSON array of two non-empty strings, e.g. ["<think>","</think>"]"#
        ),
        (#"{"stream_delta_chunk_size":0,"brand_text":"Valid"}"#, "stream_delta_chunk_size must be an integer from 1 to 100"),
    ])
    func invalidUpdatesAre400AndWriteNothing(body: String, message: String) async throws {
        try await withBackend { backend, client in
            let admin = try await client.register("admin")
            let reply = try await client.call(.put, "/api/settings/system", raw: body, token: admin)
            #expect(reply.status == .badRequest)
            #expect(reply.error == message)
            #expect(try await backend.settingsRepository.systemRows().isEmpty)
        }
    }

    /// An earlier version's boolean opens the common private ranges until an administrator writes the new list.
    @Test func theOldAllowPrivateFlagBecomesTheCommonPrivateRanges() throws {
        let lan = try #require(IPAddress("192.168.7.9"))
        for (stored, env) in [([:], ["PERSONAL_CONNECTIONS_ALLOW_PRIVATE": "true"]), (["personal_connections_allow_private": "true"], [:])] {
            let settings = SystemSettings(stored: stored, env: EnvironmentValues(env), appMode: .single, defaultContextTokenLimit: 4000)
            #expect(settings.networks(.personalConnectionsAllowedNetworks).contains { $0.contains(lan) })
        }
        let narrowed = SystemSettings(
            stored: ["personal_connections_allow_private": "true", "personal_connections_allowed_networks": "10.0.0.0/8"],
            env: EnvironmentValues([:]),
            appMode: .single, defaultContextTokenLimit: 4000)
        #expect(narrowed.networks(.personalConnectionsAllowedNetworks).map(\.description) == ["10.0.0.0/8"])
        let none = SystemSettings(stored: [:], env: EnvironmentValues([:]), appMode: .single, defaultContextTokenLimit: 4000)
        #expect(none.networks(.personalConnectionsAllowedNetworks).isEmpty)
    }

    @Test func systemSettingsAreAdminOnly() async throws {
        try await withBackend(["APP_MODE": "multi"]) { backend, client in
            _ = try await client.register("admin")
            _ = try await backend.users.create(username: "bob", hashedPassword: try await backend.hasher.hash("password1"), role: .user)
            let bob = try #require(try await client.login("bob").data?["token"]?.string)
            #expect(try await client.call(.get, "/api/settings/system", token: bob).status == .forbidden)
            #expect(try await client.call(.put, "/api/settings/system", json: ["brand_text": "x"], token: bob).status == .forbidden)
        }
    }

    @Test func publicSettingsNeedNoLogin() async throws {
        try await withBackend(["APP_MODE": "multi"]) { backend, client in
            let fresh = try await client.call(.get, "/api/settings/public")
            #expect(fresh.status == .ok)
            #expect(fresh.data?["registration_open"]?.bool == true)
            let admin = try await client.register("admin")
            #expect(try await client.call(.get, "/api/settings/public").data?["registration_open"]?.bool == false)
            _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true, "brand_text": "Hub"], token: admin)
            let open = try await client.call(.get, "/api/settings/public")
            #expect(open.data?["registration_open"]?.bool == true)
            #expect(open.data?["brand_text"]?.string == "Hub")
            #expect(open.data?["reasoning_enabled"]?.bool == true)
            #expect(open.data?["provider_timeout_ms"] == nil)
            _ = backend
        }
    }

    @Test func personalSettingsPersistPerUser() async throws {
        try await withBackend(["DEFAULT_CONTEXT_TOKEN_LIMIT": "8000"]) { _, client in
            let token = try await client.register("alice")
            let initial = try await client.call(.get, "/api/settings/personal", token: token)
            #expect(initial.data?["context_token_limit"]?.int == 8000)
            #expect(initial.data?["theme"]?.string == "system")
            #expect(initial.data?["language"]?.string == "zh-CN")
            let updated = try await client.call(
                .put, "/api/settings/personal", json: ["context_token_limit": 32000, "theme": "dark", "language": "en"], token: token
            )
            #expect(updated.status == .ok)
            #expect(updated.json["message"]?.string == "Personal settings updated successfully")
            let reread = try await client.call(.get, "/api/settings/personal", token: token)
            #expect(reread.data?["context_token_limit"]?.int == 32000)
            #expect(reread.data?["context_token_limit_override"]?.int == 32000)
            #expect(reread.data?["theme"]?.string == "dark")
            #expect(reread.data?["language"]?.string == "en")
            let cleared = try await client.call(.put, "/api/settings/personal", json: ["context_token_limit": NSNull()], token: token)
            #expect(cleared.data?["context_token_limit"]?.int == 8000)
            #expect(cleared.data?["context_token_limit_override"] == .null)
            #expect(
                try await client.call(.put, "/api/settings/personal", json: ["theme": "pink"], token: token).error
                    == "theme must be one of: light, dark, system")
            // The original's range: 1000–32000.
            for outside in [5, 999, 32001] {
                #expect(
                    try await client.call(.put, "/api/settings/personal", json: ["context_token_limit": outside], token: token).status == .badRequest)
            }
            #expect(try await client.call(.put, "/api/settings/personal", json: ["context_token_limit": 1000], token: token).status == .ok)
            #expect(try await client.call(.get, "/api/settings/personal").status == .unauthorized)
        }
    }

    @Test func healthAppInfoAndRoot() async throws {
        try await withBackend(["APP_MODE": "multi"]) { backend, client in
            let health = try await client.call(.get, "/api/settings/health")
            #expect(health.status == .ok)
            #expect(health.data?["status"]?.string == "healthy")
            #expect(health.data?["database"]?.string == "connected")
            #expect(try await client.call(.head, "/api/settings/health").status == .ok)
            let info = try await client.call(.get, "/api/settings/app-info")
            #expect(info.data?["mode"]?.string == "multi")
            #expect(info.data?["features"]?["registration"]?.bool == true)
            #expect(try await client.call(.get, "/").json["docs"]?.string == "/api/settings/health")
            #expect(try await client.call(.get, "/api").json["endpoints"]?["auth"]?["POST /api/auth/login"] != nil)

            await backend.database.close()
            let down = try await client.call(.get, "/api/settings/health")
            #expect(down.status == .serviceUnavailable)
            #expect(down.data?["status"]?.string == "unhealthy")
            #expect(down.error == "Service is unhealthy")
            #expect(try await client.call(.head, "/api/settings/health").status == .serviceUnavailable)
        }
    }
}

/// Personal settings are read for every message; the short cache in front of them must never serve a stale
/// value after a change made through it.
@Suite struct CachedSettingsRepositoryTests {
    @Test func changesThroughTheCacheApplyAtOnceAndOutsideChangesAfterItsLifetime() async throws {
        try await withMigratedDatabase { database in
            let users = SQLUserRepository(database: database)
            let user = try await users.register(username: "u1", hashedPassword: "x") { _ in }
            let stored = SQLSettingsRepository(database: database)
            let cached = CachedSettingsRepository(stored, lifetime: .milliseconds(300))

            #expect(try await cached.userSettings(userId: user.id)["context_token_limit"] == nil)
            try await cached.updateUserSettings(userId: user.id, ["context_token_limit": "8000"])
            #expect(try await cached.userSettings(userId: user.id)["context_token_limit"] == "8000")
            try await stored.updateUserSettings(userId: user.id, ["context_token_limit": "9000"])
            #expect(try await cached.userSettings(userId: user.id)["context_token_limit"] == "8000")
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await cached.userSettings(userId: user.id)["context_token_limit"] == "9000")
            try await cached.updateUserSettings(userId: user.id, ["context_token_limit": nil])
            #expect(try await cached.userSettings(userId: user.id)["context_token_limit"] == nil)
        }
    }
}
