import AIChatCore

/// Turns what a client names (a connection and raw model id, or a display id) into a connection the caller may
/// use and the provider's model id. Only enabled system connections and the caller's own are ever considered.
struct ModelResolver {
    let connections: any ConnectionRepository
    let catalog: ModelCatalog

    /// ``resolve(user:modelId:connectionId:rawId:)``, then ``requireOffered(_:on:to:)``.
    func resolveOffered(user: User, modelId: String?, connectionId: Int?, rawId: String?) async throws -> (Connection, String) {
        let (connection, model) = try await self.resolve(user: user, modelId: modelId, connectionId: connectionId, rawId: rawId)
        try await self.requireOffered(model, on: connection, to: user)
        return (connection, model)
    }

    /// On a system connection a non-admin may use only the models it offers: its `modelIds` when the administrator
    /// set them, otherwise its model list. Administrators, and everyone on their own connections, may name any model.
    func requireOffered(_ rawId: String, on connection: Connection, to user: User) async throws {
        guard user.role != .admin, connection.isSystem else { return }
        guard await self.catalog.offers(rawId, on: connection) else {
            throw APIError.invalidField("modelId", "\(rawId.prefix(100)) is not offered to you; choose a model from the model list")
        }
    }

    /// The connection and raw model id a request names (not checked against what is offered).
    func resolve(user: User, modelId: String?, connectionId: Int?, rawId: String?) async throws -> (Connection, String) {
        if let connectionId, let rawId {
            guard let connection = try await self.connections.find(id: connectionId, in: .visible(to: user.id)), connection.enable else {
                throw APIError.badRequest("Invalid connectionId for current user")
            }
            return (connection, rawId)
        }
        guard let modelId else { throw APIError.invalidField("modelId", "is required") }
        let visible = try await self.connections.list(.visible(to: user.id), enabledOnly: true)
        if let connectionId {
            guard let connection = visible.first(where: { $0.id == connectionId }) else {
                throw APIError.badRequest("Invalid connectionId for current user")
            }
            if let prefix = connection.prefixId, !prefix.isEmpty, modelId.hasPrefix(prefix + ".") {
                return (connection, String(modelId.dropFirst(prefix.count + 1)))
            }
            return (connection, modelId)
        }
        let models = try await self.catalog.models(for: user)
        if let match = models.first(where: { $0.id == modelId }), let connection = visible.first(where: { $0.id == match.connectionId }) {
            return (connection, match.rawId)
        }
        for connection in visible {
            if let prefix = connection.prefixId, !prefix.isEmpty, modelId.hasPrefix(prefix + "."), modelId.count > prefix.count + 1 {
                return (connection, String(modelId.dropFirst(prefix.count + 1)))
            }
        }
        if let unprefixed = visible.first(where: { ($0.prefixId ?? "").isEmpty }) {
            return (unprefixed, modelId)
        }
        throw APIError.badRequest("Model not found in connections")
    }
}
