import AIChatCore
import Hummingbird

/// `/api/connections`: system connections (admin), personal connections (`/user`, owner only) and `verify`.
struct ConnectionsController {
    let connections: any ConnectionRepository
    let cipher: SecretCipher
    let authenticator: Authenticator
    let verifier: ConnectionVerifier
    let catalog: ModelCatalog
    let bodyLimit: Int

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let signedIn = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator))
        signedIn.post("verify", use: self.verify)
        signedIn.get("user", use: self.listPersonal)
        signedIn.post("user", use: self.createPersonal)
        signedIn.put("user/:id", use: self.updatePersonal)
        signedIn.delete("user/:id", use: self.deletePersonal)
        let admin = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator, adminOnly: true))
        admin.get(use: self.listSystem)
        admin.post(use: self.createSystem)
        admin.put(":id", use: self.updateSystem)
        admin.delete(":id", use: self.deleteSystem)
    }

    static func connectionID(_ context: AppRequestContext) throws -> Int {
        try context.parameters.positiveInt("id", message: "Invalid connection ID")
    }

    // MARK: System connections (admin)

    @Sendable func listSystem(_ request: Request, context: AppRequestContext) async throws -> Envelope<[ConnectionDTO]> {
        Envelope(try await self.connections.list(.system, enabledOnly: false).map { ConnectionDTO($0, cipher: self.cipher) })
    }

    @Sendable func createSystem(_ request: Request, context: AppRequestContext) async throws -> Envelope<ConnectionDTO> {
        try await self.create(request, owner: nil)
    }

    @Sendable func updateSystem(_ request: Request, context: AppRequestContext) async throws -> Envelope<ConnectionDTO> {
        try await self.update(request, id: try Self.connectionID(context), scope: .system)
    }

    @Sendable func deleteSystem(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        try await self.delete(id: try Self.connectionID(context), scope: .system)
    }

    // MARK: Personal connections

    @Sendable func listPersonal(_ request: Request, context: AppRequestContext) async throws -> Envelope<[ConnectionDTO]> {
        let user = try context.requireUser()
        return Envelope(try await self.connections.list(.owner(user.id), enabledOnly: false).map { ConnectionDTO($0, cipher: self.cipher) })
    }

    @Sendable func createPersonal(_ request: Request, context: AppRequestContext) async throws -> Envelope<ConnectionDTO> {
        try await self.create(request, owner: try context.requireUser().id)
    }

    @Sendable func updatePersonal(_ request: Request, context: AppRequestContext) async throws -> Envelope<ConnectionDTO> {
        try await self.update(request, id: try Self.connectionID(context), scope: .owner(try context.requireUser().id))
    }

    @Sendable func deletePersonal(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        try await self.delete(id: try Self.connectionID(context), scope: .owner(try context.requireUser().id))
    }

    // MARK: Shared

    /// The key to store: encrypted, and only for API-key authentication.
    func storedKey(_ plaintext: String?, authType: AuthType) throws -> String {
        guard authType == .bearer, let plaintext, !plaintext.isEmpty else { return "" }
        return try self.cipher.encrypt(plaintext)
    }

    /// Personal connections name hosts of their owner's choosing, so they may not use the server's own tokens.
    static func checkAuthType(_ authType: AuthType, personal: Bool) throws {
        guard personal, authType.usesServerToken else { return }
        throw APIError.invalidField(
            "authType", "\(authType.rawValue) uses the server's own token and is only available for system connections")
    }

    func create(_ request: Request, owner: Int?) async throws -> Envelope<ConnectionDTO> {
        var request = request
        let input = try ConnectionInput(try await request.jsonObject(limit: self.bodyLimit), requireAll: true)
        let authType = input.authType ?? .bearer
        try Self.checkAuthType(authType, personal: owner != nil)
        let connection = try await self.connections.create(
            NewConnection(
                ownerUserId: owner,
                provider: (input.provider ?? .openai).rawValue,
                baseUrl: input.baseUrl ?? "",
                enable: input.enable ?? true,
                authType: authType.rawValue,
                apiKey: try self.storedKey(input.apiKey, authType: authType),
                headers: (input.headers ?? nil) ?? [:],
                azureApiVersion: input.azureApiVersion ?? nil,
                prefixId: input.prefixId ?? nil,
                tags: input.tags ?? [],
                modelIds: input.modelIds ?? [],
                connectionType: input.connectionType ?? .external
            )
        )
        return Envelope(ConnectionDTO(connection, cipher: self.cipher), message: "Connection created")
    }

    func update(_ request: Request, id: Int, scope: ConnectionScope) async throws -> Envelope<ConnectionDTO> {
        var request = request
        let input = try ConnectionInput(try await request.jsonObject(limit: self.bodyLimit), requireAll: false)
        guard var connection = try await self.connections.find(id: id, in: scope) else { throw APIError.notFound("Not found") }
        if let provider = input.provider { connection.provider = provider.rawValue }
        if let baseUrl = input.baseUrl { connection.baseUrl = baseUrl }
        if let enable = input.enable { connection.enable = enable }
        if let authType = input.authType { connection.authType = authType.rawValue }
        try Self.checkAuthType(connection.auth, personal: !connection.isSystem)
        if let key = input.apiKey {
            connection.apiKey = try self.storedKey(key, authType: connection.auth)
        } else if connection.auth != .bearer {
            connection.apiKey = ""
        } else if SecretCipher.isLegacy(connection.apiKey), let plain = try? self.cipher.decrypt(connection.apiKey) {
            connection.apiKey = try self.cipher.encrypt(plain)
        }
        if let headers = input.headers { connection.headers = headers.map { ConnectionInput.mergeHeaders($0, stored: connection.headers) } ?? [:] }
        if let version = input.azureApiVersion { connection.azureApiVersion = version }
        if let prefix = input.prefixId { connection.prefixId = prefix }
        if let tags = input.tags { connection.tags = tags }
        if let modelIds = input.modelIds { connection.modelIds = modelIds }
        if let type = input.connectionType { connection.connectionType = type }
        connection.updatedAt = .now()
        guard try await self.connections.save(connection, in: scope) else { throw APIError.notFound("Not found") }
        await self.catalog.invalidate(connectionId: id)
        return Envelope(ConnectionDTO(connection, cipher: self.cipher), message: "Connection updated")
    }

    func delete(id: Int, scope: ConnectionScope) async throws -> MessageEnvelope {
        guard try await self.connections.delete(id: id, in: scope) else { throw APIError.notFound("Not found") }
        await self.catalog.invalidate(connectionId: id)
        return MessageEnvelope("Connection deleted")
    }

    /// Probes a provider with the submitted settings, or with a stored connection's (`connectionId`, the
    /// caller's own or a system one) where the body leaves fields out, so a saved key need not be typed again.
    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> MessageEnvelope {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let storedId = try body.optionalInteger("connectionId", in: 1...Int.max)
        let input = try ConnectionInput(body, requireAll: storedId == nil)
        var connection: Connection
        if let storedId {
            let scope: ConnectionScope = user.role == .admin ? .visible(to: user.id) : .owner(user.id)
            guard let stored = try await self.connections.find(id: storedId, in: scope) else { throw APIError.notFound("Not found") }
            connection = stored
        } else {
            // A draft verified by an administrator may become a system connection; anyone else's is personal.
            connection = Connection(
                id: 0, ownerUserId: user.role == .admin ? nil : user.id, provider: ProviderKind.openai.rawValue, baseUrl: "", enable: true,
                authType: AuthType.bearer.rawValue,
                apiKey: "", headers: [:], azureApiVersion: nil, prefixId: nil, tags: [], modelIds: [], connectionType: .external,
                createdAt: .now(), updatedAt: .now()
            )
        }
        if let provider = input.provider { connection.provider = provider.rawValue }
        if let baseUrl = input.baseUrl { connection.baseUrl = baseUrl }
        if let authType = input.authType { connection.authType = authType.rawValue }
        try Self.checkAuthType(connection.auth, personal: !connection.isSystem)
        if let key = input.apiKey { connection.apiKey = try self.storedKey(key, authType: connection.auth) }
        if let headers = input.headers { connection.headers = headers.map { ConnectionInput.mergeHeaders($0, stored: connection.headers) } ?? [:] }
        if let version = input.azureApiVersion { connection.azureApiVersion = version }
        // Admins set up system connections, which may live on the private network; everyone else is checked.
        let guarded = user.role != .admin
        do {
            try await self.verifier.verify(connection, guarded: guarded)
        } catch let error as ProviderFailure {
            throw APIError.badRequest(error.publicMessage)
        }
        return MessageEnvelope("Connection verified")
    }
}
