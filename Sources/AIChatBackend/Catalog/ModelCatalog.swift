import AIChatCore
import Logging

/// Fetches a connection's model list from its provider.
public protocol ModelSource: Sendable {
    func listModels(_ connection: Connection) async throws -> [ListedModel]
}

/// The aggregated model list: per-connection lists cached in memory and in `model_catalog` for `ttl` seconds,
/// fetched in parallel, refreshed in the background when stale, with overrides applied on top.
///
/// A connection that fails contributes its last known list (or nothing); it never breaks the whole list.
public actor ModelCatalog {
    let connections: any ConnectionRepository
    let repository: any CatalogRepository
    let source: any ModelSource
    let ttlSeconds: Int
    let logger: Logger
    private var memory: [Int: (models: [ListedModel], fetchedAt: Timestamp)] = [:]
    private var inFlight: [Int: Task<[ListedModel]?, Never>] = [:]

    public init(connections: any ConnectionRepository, repository: any CatalogRepository, source: any ModelSource, ttlSeconds: Int, logger: Logger) {
        self.connections = connections
        self.repository = repository
        self.source = source
        self.ttlSeconds = ttlSeconds
        self.logger = logger
    }

    /// Every model the user may use: enabled system connections first, then the user's own.
    public func models(for user: User) async throws -> [CatalogModel] {
        let visible = try await self.connections.list(.visible(to: user.id), enabledOnly: true)
        let lists = await withTaskGroup(of: (Int, [ListedModel]).self) { group in
            for connection in visible {
                group.addTask { (connection.id, await self.currentList(connection)) }
            }
            var result: [Int: [ListedModel]] = [:]
            for await (id, models) in group { result[id] = models }
            return result
        }
        let overrides = try await self.repository.overrides(connectionIds: visible.map(\.id))
        let byKey = Dictionary(overrides.map { ("\($0.connectionId):\($0.rawId)", $0) }, uniquingKeysWith: { first, _ in first })
        var items: [CatalogModel] = []
        for connection in visible {
            for model in lists[connection.id] ?? [] {
                let override = byKey["\(connection.id):\(model.id)"]
                let tags = override?.tags ?? connection.tags
                let capabilities = ModelCapabilities.derive(rawId: model.id, tags: tags).applying(override?.capabilities ?? [:])
                items.append(
                    CatalogModel(
                        id: connection.displayId(of: model.id), rawId: model.id, name: model.name, provider: connection.provider,
                        connectionType: connection.connectionType, tags: tags.map(ConnectionDTO.TagDTO.init(name:)), capabilities: capabilities,
                        connectionId: connection.id, overridden: override != nil, personal: !connection.isSystem
                    )
                )
            }
        }
        return items
    }

    /// Whether the connection's list (its `modelIds`, else the list its provider last gave) has `rawId`.
    public func offers(_ rawId: String, on connection: Connection) async -> Bool {
        await self.currentList(connection).contains { $0.id == rawId }
    }

    /// The list to show now for one connection; a stale list is returned and refreshed in the background.
    func currentList(_ connection: Connection) async -> [ListedModel] {
        if !connection.modelIds.isEmpty {
            return connection.modelIds.map { ListedModel(id: $0, name: $0) }
        }
        if self.memory[connection.id] == nil, let stored = try? await self.repository.cached(connectionId: connection.id) {
            self.memory[connection.id] = stored
        }
        if let cached = self.memory[connection.id] {
            if !self.isFresh(cached.fetchedAt) { _ = self.startFetch(connection) }
            return cached.models
        }
        return await self.startFetch(connection).value ?? []
    }

    func isFresh(_ fetchedAt: Timestamp) -> Bool {
        Timestamp.now().milliseconds - fetchedAt.milliseconds < Int64(self.ttlSeconds) * 1000
    }

    /// One fetch per connection at a time; concurrent callers share it.
    func startFetch(_ connection: Connection) -> Task<[ListedModel]?, Never> {
        if let running = self.inFlight[connection.id] { return running }
        let task = Task { await self.fetch(connection) }
        self.inFlight[connection.id] = task
        return task
    }

    private func fetch(_ connection: Connection) async -> [ListedModel]? {
        defer { self.inFlight[connection.id] = nil }
        do {
            let models = try await self.source.listModels(connection)
            self.memory[connection.id] = (models, .now())
            try? await self.repository.replaceCache(connection: connection, models: models, ttlSeconds: self.ttlSeconds)
            return models
        } catch {
            self.logger.warning("model list of connection \(connection.id) unavailable: \(error)")
            return nil
        }
    }

    /// Fetches the lists of the given connections now; returns the ids that failed.
    public func refresh(_ targets: [Connection]) async -> [Int] {
        await withTaskGroup(of: (Int, Bool).self) { group in
            for connection in targets where connection.modelIds.isEmpty {
                group.addTask {
                    let task = await self.startFetch(connection)
                    return (connection.id, await task.value != nil)
                }
            }
            var failed: [Int] = []
            for await (id, ok) in group where !ok { failed.append(id) }
            return failed.sorted()
        }
    }

    /// Forgets a connection's list after its settings changed or it was deleted.
    public func invalidate(connectionId: Int) async {
        self.memory[connectionId] = nil
        try? await self.repository.clearCache(connectionId: connectionId)
    }
}
