import AIChatCore
import Foundation
import SQLKit

/// The persisted model-list cache (`model_catalog`) and the override table (`model_overrides`).
public protocol CatalogRepository: Sendable {
    func cached(connectionId: Int) async throws -> (models: [ListedModel], fetchedAt: Timestamp)?
    func replaceCache(connection: Connection, models: [ListedModel], ttlSeconds: Int) async throws
    func clearCache(connectionId: Int) async throws
    func overrides(connectionIds: [Int]) async throws -> [ModelOverride]
    func saveOverride(_ override: ModelOverride) async throws
    /// Deletes the overrides of the listed models, or of every model of `connectionIds` when `items` is nil.
    func deleteOverrides(items: [(connectionId: Int, rawId: String)]?, connectionIds: [Int]) async throws -> Int
}

public struct SQLCatalogRepository: CatalogRepository {
    let database: any AppDatabase

    public init(database: any AppDatabase) {
        self.database = database
    }

    public func cached(connectionId: Int) async throws -> (models: [ListedModel], fetchedAt: Timestamp)? {
        try await self.database.read { sql in
            let rows = try await sql.raw(
                #"SELECT "rawId", "name", "lastFetchedAt" FROM "model_catalog" WHERE "connectionId" = \#(bind: connectionId) ORDER BY "id""#
            ).all()
            guard !rows.isEmpty else { return nil }
            let models = try rows.map { ListedModel(id: try $0.string("rawId"), name: try $0.string("name")) }
            let fetchedAt = try rows.map { try $0.timestamp("lastFetchedAt") }.min() ?? Timestamp(milliseconds: 0)
            return (models, fetchedAt)
        }
    }

    public func replaceCache(connection: Connection, models: [ListedModel], ttlSeconds: Int) async throws {
        let now = Timestamp.now()
        try await self.database.write { sql in
            try await sql.raw("DELETE FROM \"model_catalog\" WHERE \"connectionId\" = \(bind: connection.id)").run()
            var seen = Set<String>()
            for model in models where seen.insert(model.id).inserted {
                try await sql.raw(
                    """
                    INSERT INTO "model_catalog" ("connectionId", "modelId", "rawId", "name", "provider", "connectionType", "tagsJson", "lastFetchedAt", "expiresAt")
                    VALUES (\(bind: connection.id), \(bind: connection.displayId(of: model.id)), \(bind: model.id), \(bind: model.name),
                        \(bind: connection.provider), \(bind: connection.connectionType.rawValue), \(bind: Connection.encodeTags(connection.tags)),
                        \(bind: now.milliseconds), \(bind: now.adding(seconds: Int64(ttlSeconds)).milliseconds))
                    """
                ).run()
            }
        }
    }

    public func clearCache(connectionId: Int) async throws {
        try await self.database.write { sql in
            try await sql.raw("DELETE FROM \"model_catalog\" WHERE \"connectionId\" = \(bind: connectionId)").run()
        }
    }

    public func overrides(connectionIds: [Int]) async throws -> [ModelOverride] {
        guard !connectionIds.isEmpty else { return [] }
        return try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT "connectionId", "rawId", "tagsJson", "capabilitiesJson" FROM "model_overrides"
                WHERE "connectionId" IN (\(binds: connectionIds)) ORDER BY "connectionId", "rawId"
                """
            ).all().map { row in
                ModelOverride(
                    connectionId: try row.int("connectionId"),
                    rawId: try row.string("rawId"),
                    tags: try row.optionalString("tagsJson").map(Connection.decodeTags),
                    capabilities: try row.optionalString("capabilitiesJson").flatMap {
                        try? JSONDecoder().decode([String: Bool].self, from: Data($0.utf8))
                    }
                )
            }
        }
    }

    public func saveOverride(_ override: ModelOverride) async throws {
        let capabilities = override.capabilities.map { String(decoding: (try? JSONEncoder().encode($0)) ?? Data(), as: UTF8.self) }
        try await self.database.write { sql in
            try await sql.raw(
                """
                INSERT INTO "model_overrides" ("connectionId", "rawId", "tagsJson", "capabilitiesJson", "updatedAt")
                VALUES (\(bind: override.connectionId), \(bind: override.rawId), \(bind: override.tags.map(Connection.encodeTags)),
                    \(bind: capabilities), \(bind: Timestamp.now().milliseconds))
                ON CONFLICT ("connectionId", "rawId") DO UPDATE SET "tagsJson" = excluded."tagsJson",
                    "capabilitiesJson" = excluded."capabilitiesJson", "updatedAt" = excluded."updatedAt"
                """
            ).run()
        }
    }

    public func deleteOverrides(items: [(connectionId: Int, rawId: String)]?, connectionIds: [Int]) async throws -> Int {
        guard !connectionIds.isEmpty else { return 0 }
        return try await self.database.write { sql in
            if let items {
                var deleted = 0
                for item in items where connectionIds.contains(item.connectionId) {
                    deleted += try await sql.raw(
                        """
                        DELETE FROM "model_overrides" WHERE "connectionId" = \(bind: item.connectionId) AND "rawId" = \(bind: item.rawId)
                        RETURNING "rawId"
                        """
                    ).all().count
                }
                return deleted
            }
            return try await sql.raw("DELETE FROM \"model_overrides\" WHERE \"connectionId\" IN (\(binds: connectionIds)) RETURNING \"rawId\"").all()
                .count
        }
    }
}
