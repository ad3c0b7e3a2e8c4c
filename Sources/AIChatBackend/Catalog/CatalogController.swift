import AIChatCore
import Hummingbird

/// `/api/catalog`: the aggregated model list, refresh, and model overrides (admin).
struct CatalogController {
    let catalog: ModelCatalog
    let connections: any ConnectionRepository
    let repository: any CatalogRepository
    let authenticator: Authenticator
    let bodyLimit: Int
    let refreshLimiter = IntervalLimiter(interval: Self.refreshInterval)

    static let refreshInterval = Duration.seconds(5)

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let signedIn = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator))
        signedIn.get("models", use: self.models)
        let admin = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator, adminOnly: true))
        admin.post("models/refresh", use: self.refresh)
        admin.put("models/tags", use: self.saveOverride)
        admin.delete("models/tags", use: self.deleteOverrides)
        admin.get("models/overrides", use: self.exportOverrides)
        admin.post("models/overrides", use: self.importOverrides)
    }

    @Sendable func models(_ request: Request, context: AppRequestContext) async throws -> Envelope<[CatalogModel]> {
        Envelope(try await self.catalog.models(for: try context.requireUser()))
    }

    struct RefreshResult: Encodable, Sendable {
        let refreshed: Int
        let failedConnectionIds: [Int]
    }

    /// Re-fetches every connection the caller can use.
    /// Fetches every visible connection's model list again (admin; each refresh reaches every provider, so at most
    /// one per ``refreshInterval``).
    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Envelope<RefreshResult> {
        let user = try context.requireUser()
        if let wait = self.refreshLimiter.admit() {
            throw APIError.tooManyRequests("The model lists were refreshed moments ago; try again in \(wait) seconds", retryAfterSeconds: wait)
        }
        let targets = try await self.connections.list(.visible(to: user.id), enabledOnly: true)
        let failed = await self.catalog.refresh(targets)
        return Envelope(RefreshResult(refreshed: targets.count - failed.count, failedConnectionIds: failed), message: "Refreshed")
    }

    /// Reads one override: `connectionId`, `rawId`, and `tags` and/or `capabilities` (`{"vision": false, …}`).
    func override(from body: JSONObject, userId: Int) async throws -> ModelOverride {
        // A number or a numeric string (exports written by the original carry either).
        let connectionId: Int? =
            switch body.raw("connectionId") {
                case .number(let value)?: Int(exactly: value)
                case .string(let text)?: Int(text)
                default: nil
            }
        guard let connectionId, connectionId >= 1 else { throw APIError.badRequest("connectionId/rawId required") }
        guard let rawId = try body.optionalString("rawId", maxLength: 256, trim: true), !rawId.isEmpty else {
            throw APIError.badRequest("connectionId/rawId required")
        }
        guard try await self.connections.find(id: connectionId, in: .visible(to: userId)) != nil else {
            throw APIError.notFound("Connection not found")
        }
        var tags: [String]?
        if let raw = body.raw("tags"), raw != .null { tags = try ConnectionInput.validatedTags(raw) }
        var capabilities: [String: Bool]?
        switch body.raw("capabilities") {
            case .none, .null?: capabilities = nil
            case .object(let fields)?:
                var values: [String: Bool] = [:]
                for (key, value) in fields {
                    guard ModelCapabilities.keys.contains(key) else {
                        throw APIError.invalidField("capabilities", "keys must be among: \(ModelCapabilities.keys.joined(separator: ", "))")
                    }
                    guard case .bool(let flag) = value else { throw APIError.invalidField("capabilities", "values must be true or false") }
                    values[key] = flag
                }
                capabilities = values
            case let other?: throw APIError.invalidField("capabilities", "must be an object, not \(other.typeName)")
        }
        guard tags != nil || capabilities != nil else { throw APIError.badRequest("tags or capabilities required") }
        return ModelOverride(connectionId: connectionId, rawId: rawId, tags: tags, capabilities: capabilities)
    }

    @Sendable func saveOverride(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        var request = request
        let user = try context.requireUser()
        let override = try await self.override(from: try await request.jsonObject(limit: self.bodyLimit), userId: user.id)
        try await self.repository.saveOverride(override)
        return MessageEnvelope("Saved")
    }

    @Sendable func deleteOverrides(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit, allowEmpty: true)
        let visible = try await self.connections.list(.visible(to: user.id), enabledOnly: false).map(\.id)
        let deleted: Int
        if try body.optionalBool("all") == true {
            deleted = try await self.repository.deleteOverrides(items: nil, connectionIds: visible)
        } else {
            guard case .array(let rawItems)? = body.raw("items"), !rawItems.isEmpty else { throw APIError.badRequest("items required") }
            var items: [(connectionId: Int, rawId: String)] = []
            for raw in rawItems {
                guard case .object(let fields) = raw, case .number(let number)? = fields["connectionId"], case .string(let rawId)? = fields["rawId"],
                    let id = Int(exactly: number), id >= 1
                else { throw APIError.invalidField("items", "entries need a numeric connectionId and a string rawId") }
                items.append((id, rawId))
            }
            deleted = try await self.repository.deleteOverrides(items: items, connectionIds: visible)
        }
        return MessageEnvelope("Deleted \(deleted) overrides")
    }

    struct ExportedOverride: Encodable, Sendable {
        let connectionId: Int
        let rawId: String
        let modelId: String
        let tags: [ConnectionDTO.TagDTO]?
        let capabilities: [String: Bool]?
    }

    @Sendable func exportOverrides(_ request: Request, context: AppRequestContext) async throws -> Envelope<[ExportedOverride]> {
        let user = try context.requireUser()
        let visible = try await self.connections.list(.visible(to: user.id), enabledOnly: false)
        let byId = Dictionary(uniqueKeysWithValues: visible.map { ($0.id, $0) })
        let overrides = try await self.repository.overrides(connectionIds: visible.map(\.id))
        return Envelope(
            overrides.map { item in
                ExportedOverride(
                    connectionId: item.connectionId, rawId: item.rawId, modelId: byId[item.connectionId]?.displayId(of: item.rawId) ?? item.rawId,
                    tags: item.tags?.map(ConnectionDTO.TagDTO.init(name:)), capabilities: item.capabilities
                )
            }
        )
    }

    /// Imports what the export produced (`{"overrides": [...]}` or `{"items": [...]}`); all entries are
    /// validated before any is written.
    @Sendable func importOverrides(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        guard case .array(let entries)? = body.raw("overrides") ?? body.raw("items"), entries.count <= 10_000 else {
            throw APIError.badRequest("overrides required")
        }
        var parsed: [ModelOverride] = []
        for entry in entries {
            guard case .object(let fields) = entry else { throw APIError.invalidField("overrides", "entries must be objects") }
            parsed.append(try await self.override(from: JSONObject(fields), userId: user.id))
        }
        for override in parsed { try await self.repository.saveOverride(override) }
        return MessageEnvelope("Imported \(parsed.count) overrides")
    }
}
