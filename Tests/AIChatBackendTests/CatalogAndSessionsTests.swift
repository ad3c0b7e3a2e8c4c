import AIChatCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import AIChatBackend

@Suite struct CatalogTests {
    @Test func listsCachesAndSurvivesAFailingConnection() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["MODELS_TTL_S": "3600"]) { _, client in
                let admin = try await client.register("admin")
                _ = try await client.call(
                    .post, "/api/connections", json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "prefixId": "fake"], token: admin)
                _ = try await client.call(.post, "/api/connections", json: ["provider": "openai", "baseUrl": "http://127.0.0.1:9/v1"], token: admin)
                _ = try await client.call(
                    .post, "/api/connections", json: ["provider": "ollama", "baseUrl": fake.baseURL, "connectionType": "local"], token: admin)
                _ = try await client.call(
                    .post, "/api/connections",
                    json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "modelIds": ["fixed-model"], "enable": false], token: admin
                )
                let first = try await client.call(.get, "/api/catalog/models", token: admin)
                #expect(first.status == .ok)
                let ids = first.data?.array?.compactMap { $0["id"]?.string }
                #expect(ids == ["fake.gpt-4o-mini", "fake.gpt-4o", "gpt-4o-mini", "gpt-4o"])
                let item = try #require(first.data?[1])
                #expect(item["rawId"]?.string == "gpt-4o")
                #expect(item["connectionId"]?.int == 1)
                #expect(item["capabilities"]?["vision"]?.bool == true)
                #expect(item["capabilities"]?["web_search"]?.bool == false)
                #expect(first.data?[2]?["connectionType"]?.string == "local")
                let fetches = fake.received.count
                _ = try await client.call(.get, "/api/catalog/models", token: admin)
                #expect(fake.received.count == fetches, "the second listing must come from the cache")
                fake.setModels(["gpt-4o", "o3-mini"])
                let refreshed = try await client.call(.post, "/api/catalog/models/refresh", token: admin)
                #expect(refreshed.data?["failedConnectionIds"] == .array([.number(2)]))
                let after = try await client.call(.get, "/api/catalog/models", token: admin)
                #expect(after.data?.array?.compactMap { $0["id"]?.string } == ["fake.gpt-4o", "fake.o3-mini", "gpt-4o", "o3-mini"])
            }
        }
    }

    @Test func overridesSurviveRefreshAndCapabilitiesCanBeFalse() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let admin = try await client.register("admin")
                _ = try await client.call(.post, "/api/connections", json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1"], token: admin)
                let saved = try await client.call(
                    .put, "/api/catalog/models/tags",
                    json: ["connectionId": 1, "rawId": "gpt-4o", "tags": [["name": "web_search"]], "capabilities": ["vision": false]], token: admin
                )
                #expect(saved.json["message"]?.string == "Saved")
                _ = try await client.call(.post, "/api/catalog/models/refresh", token: admin)
                let model = try #require(
                    try await client.call(.get, "/api/catalog/models", token: admin).data?.array?.first { $0["rawId"]?.string == "gpt-4o" })
                #expect(model["overridden"]?.bool == true)
                #expect(model["capabilities"]?["vision"]?.bool == false)
                #expect(model["capabilities"]?["web_search"]?.bool == true)
                let exported = try await client.call(.get, "/api/catalog/models/overrides", token: admin)
                #expect(exported.data?[0]?["modelId"]?.string == "gpt-4o")
                #expect(
                    try await client.call(.put, "/api/catalog/models/tags", json: ["connectionId": 99, "rawId": "x", "tags": []], token: admin).status
                        == .notFound)
                #expect(
                    try await client.call(.put, "/api/catalog/models/tags", json: ["rawId": "x"], token: admin).error == "connectionId/rawId required"
                )
                let imported = try await client.call(
                    .post, "/api/catalog/models/overrides",
                    json: ["overrides": [["connectionId": 1, "rawId": "gpt-4o-mini", "capabilities": ["vision": true]]]],
                    token: admin
                )
                #expect(imported.json["message"]?.string == "Imported 1 overrides")
                let deleted = try await client.call(.delete, "/api/catalog/models/tags", json: ["all": true], token: admin)
                #expect(deleted.json["message"]?.string == "Deleted 2 overrides")
                #expect(try await client.call(.delete, "/api/catalog/models/tags", json: ["items": []], token: admin).error == "items required")
            }
        }
    }

    @Test func usersSeeSystemModelsAndOnlyTheirOwnPersonalOnes() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi", "PERSONAL_CONNECTIONS_ALLOWED_NETWORKS": "127.0.0.0/8"]) { _, client in
                let admin = try await client.register("admin")
                _ = try await client.call(.put, "/api/settings/system", json: ["registration_enabled": true], token: admin)
                _ = try await client.call(
                    .post, "/api/connections", json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "modelIds": ["shared"]], token: admin)
                let alice = try await client.register("alice")
                let bob = try await client.register("bob")
                let personal = try await client.call(
                    .post, "/api/connections/user",
                    json: ["provider": "openai", "baseUrl": fake.baseURL + "/v1", "modelIds": ["alices"], "prefixId": "me"], token: alice
                )
                let personalId = try #require(personal.data?["id"]?.int)
                #expect(
                    try await client.call(.get, "/api/catalog/models", token: alice).data?.array?.compactMap { $0["id"]?.string } == [
                        "shared", "me.alices",
                    ])
                #expect(try await client.call(.get, "/api/catalog/models", token: bob).data?.array?.compactMap { $0["id"]?.string } == ["shared"])
                // Bob can neither bind a session to Alice's connection nor reach it through its display id.
                let byId = try await client.call(.post, "/api/sessions", json: ["connectionId": personalId, "rawId": "alices"], token: bob)
                #expect(byId.error == "Invalid connectionId for current user")
                let byName = try await client.call(.post, "/api/sessions", json: ["modelId": "me.alices"], token: bob)
                #expect(byName.data?["connectionId"]?.int != personalId)
                let generate = try await client.call(
                    .post, "/api/chat/generate", json: ["connectionId": personalId, "modelId": "alices", "prompt": "hi"], token: bob)
                #expect(generate.status == .notFound)
            }
        }
    }
}

@Suite struct SessionsTests {
    @Test func createListUpdateAndDelete() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake, extra: ["prefixId": "p"])
                let byDisplayId = try await client.call(
                    .post, "/api/sessions", json: ["modelId": "p.gpt-test", "title": "Second"], token: chat.token)
                #expect(byDisplayId.status == .ok)
                #expect(byDisplayId.json["message"]?.string == "Chat session created successfully")
                #expect(byDisplayId.data?["modelRawId"]?.string == "gpt-test")
                #expect(byDisplayId.data?["connection"]?["prefixId"]?.string == "p")
                #expect(
                    try await client.call(.post, "/api/sessions", json: ["modelId": "nope.x"], token: chat.token).error
                        == "Model not found in connections")
                #expect(try await client.call(.post, "/api/sessions", json: [:], token: chat.token).error == "modelId is required")
                #expect(
                    try await client.call(.post, "/api/sessions", json: ["modelId": "p.gpt-test", "title": ""], token: chat.token).status
                        == .badRequest)

                let list = try await client.call(.get, "/api/sessions?limit=1", token: chat.token)
                #expect(list.data?["sessions"]?[0]?["title"]?.string == "Second")
                #expect(list.data?["sessions"]?[0]?["_count"]?["messages"]?.int == 0)
                #expect(list.data?["pagination"]?["totalPages"]?.int == 2)
                #expect(try await client.call(.get, "/api/sessions?search=seco", token: chat.token).data?["pagination"]?["total"]?.int == 1)

                let id = chat.sessionId
                let updated = try await client.call(
                    .put, "/api/sessions/\(id)",
                    json: ["title": "Renamed", "reasoningEnabled": false, "reasoningEffort": "high", "systemPrompt": "Be brief."],
                    token: chat.token
                )
                #expect(updated.data?["title"]?.string == "Renamed")
                #expect(updated.data?["reasoningEffort"]?.string == "high")
                #expect(updated.data?["systemPrompt"]?.string == "Be brief.")
                let reset = try await client.call(
                    .put, "/api/sessions/\(id)", json: ["reasoningEnabled": NSNull(), "reasoningEffort": "", "systemPrompt": NSNull()],
                    token: chat.token)
                #expect(reset.data?["reasoningEnabled"] == .null)
                #expect(reset.data?["reasoningEffort"] == .null)
                #expect(reset.data?["systemPrompt"] == .null)
                #expect(try await client.call(.put, "/api/sessions/\(id)", json: ["reasoningEffort": "max"], token: chat.token).status == .badRequest)

                _ = try await client.call(.post, "/api/chat/stream", json: ["sessionId": id, "content": "hello"], token: chat.token)
                let light = try await client.call(.get, "/api/sessions/\(id)?messages=0", token: chat.token)
                #expect(light.data?["title"]?.string == "Renamed")
                #expect(light.data?["messages"]?.array?.isEmpty == true)
                #expect(try await client.call(.get, "/api/sessions/\(id)", token: chat.token).data?["messages"]?.array?.isEmpty == false)
                let switched = try await client.call(
                    .put, "/api/sessions/\(id)/model", json: ["connectionId": chat.connectionId, "rawId": "other"], token: chat.token)
                #expect(switched.data?["modelRawId"]?.string == "other")
                #expect(
                    try await client.call(.delete, "/api/sessions/\(id)", token: chat.token).json["message"]?.string
                        == "Chat session deleted successfully")
                #expect(try await client.call(.get, "/api/sessions/\(id)", token: chat.token).status == .notFound)
                #expect(try await client.call(.get, "/api/sessions/x1", token: chat.token).error == "Invalid session ID")
            }
        }
    }

    @Test func foreignSessionsAreNotFound() async throws {
        try await FakeProvider.run { fake in
            try await withBackend(["APP_MODE": "multi"]) { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                let mallory = try await chat.registerAnother("mallory", client)
                let id = chat.sessionId
                var probes: [(HTTPRequest.Method, String, [String: Any]?)] = []
                probes.append((.get, "/api/sessions/\(id)", nil))
                probes.append((.put, "/api/sessions/\(id)", ["title": "x"]))
                probes.append((.put, "/api/sessions/\(id)/model", ["modelId": "gpt-test"]))
                probes.append((.delete, "/api/sessions/\(id)/messages", nil))
                probes.append((.get, "/api/chat/sessions/\(id)/messages", nil))
                probes.append((.get, "/api/chat/usage?sessionId=\(id)", nil))
                probes.append((.post, "/api/chat/stream", ["sessionId": id, "content": "hi"]))
                probes.append((.post, "/api/chat/completion", ["sessionId": id, "content": "hi"]))
                probes.append((.post, "/api/chat/stop", ["sessionId": id]))
                probes.append((.post, "/api/chat/regenerate", ["sessionId": id, "messageId": 1]))
                probes.append((.post, "/api/chat/edit", ["sessionId": id, "messageId": 1, "content": "x"]))
                probes.append((.get, "/api/chat/sessions/\(id)/stream", nil))
                probes.append((.delete, "/api/sessions/\(id)", nil))
                for (method, uri, body) in probes {
                    let reply = try await client.call(method, uri, json: body, token: mallory)
                    #expect(reply.status == .notFound, "\(method) \(uri) → \(reply.status)")
                }
                #expect(fake.chatRequests.isEmpty)
                // Nothing was written into the owner's session.
                let page = try await client.call(.get, "/api/chat/sessions/\(id)/messages", token: chat.token)
                #expect(page.data?["messages"]?.array?.isEmpty == true)
            }
        }
    }

    /// A session that cannot answer is refused before anything is stored.
    @Test func sendingToASessionThatCannotAnswerStoresNothing() async throws {
        try await FakeProvider.run { fake in
            try await withBackend { _, client in
                let chat = try await ChatFixture.make(client, fake: fake)
                #expect(
                    try await client.call(.put, "/api/connections/\(chat.connectionId)", json: ["enable": false], token: chat.token).status == .ok)
                let refused = try await client.call(
                    .post, "/api/chat/stream", json: ["sessionId": chat.sessionId, "content": "hi"], token: chat.token)
                #expect(refused.status == .badRequest)
                #expect(refused.error == "The session's connection is disabled")
                let page = try await client.call(.get, "/api/chat/sessions/\(chat.sessionId)/messages", token: chat.token)
                #expect(page.data?["messages"]?.array?.isEmpty == true)
                #expect(fake.chatRequests.isEmpty)
            }
        }
    }
}
