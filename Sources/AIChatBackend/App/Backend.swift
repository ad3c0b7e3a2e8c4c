import AIChatCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import Synchronization

/// The composition root of the backend: configuration → secrets → database → repositories → router.
public final class Backend: Sendable {
    public let configuration: BackendConfiguration
    public let logger: Logger
    public let database: any AppDatabase
    public let users: any UserRepository
    public let settingsRepository: any SettingsRepository
    public let settings: SystemSettingsService
    public let tokens: TokenService
    public let cipher: SecretCipher
    public let hasher: PasswordHasher
    public let throttle: LoginThrottle
    public let connections: any ConnectionRepository
    public let catalogRepository: any CatalogRepository
    public let sessions: any SessionRepository
    public let messages: any MessageRepository
    public let catalog: ModelCatalog
    public let registry: GenerationRegistry
    let usage: any UsageRepository
    private let isShutDown = Atomic(false)
    let httpClient: ProviderHTTPClient
    let gateway: ProviderGateway
    let chat: ChatService

    init(
        configuration: BackendConfiguration, logger: Logger, database: any AppDatabase,
        tokens: TokenService, cipher: SecretCipher
    ) {
        self.configuration = configuration
        self.logger = logger
        self.database = database
        self.users = CachedUserRepository(SQLUserRepository(database: database))
        self.settingsRepository = CachedSettingsRepository(SQLSettingsRepository(database: database))
        self.settings = SystemSettingsService(repository: self.settingsRepository, configuration: configuration)
        self.tokens = tokens
        self.cipher = cipher
        self.hasher = PasswordHasher(cost: configuration.bcryptCost, limit: configuration.bcryptQueueLimit)
        self.throttle = LoginThrottle(
            policy: .init(
                refuseAfter: configuration.loginMaxFailures, slowDownAfter: configuration.loginSlowdownAfter,
                windowSeconds: configuration.loginWindowSeconds))
        self.connections = SQLConnectionRepository(database: database)
        self.catalogRepository = SQLCatalogRepository(database: database)
        self.sessions = SQLSessionRepository(database: database)
        self.messages = SQLMessageRepository(database: database)
        self.usage = SQLUsageRepository(database: database)
        self.registry = GenerationRegistry(checkpoints: AnswerCheckpoints(messages: self.messages, logger: logger))
        self.httpClient = ProviderHTTPClient(
            settings: .init(maxConnectionsPerHost: configuration.providerMaxConnections, proxy: configuration.proxy)
        )
        self.gateway = ProviderGateway(
            http: self.httpClient, outbound: OutboundGuard(), cipher: cipher, settings: self.settings,
            systemOAuthToken: configuration.systemOAuthToken, azureAccessToken: configuration.azureAccessToken, logger: logger
        )
        self.catalog = ModelCatalog(
            connections: self.connections, repository: self.catalogRepository, source: ProviderModelSource(gateway: self.gateway),
            ttlSeconds: configuration.modelsTTLSeconds, logger: logger
        )
        self.chat = ChatService(
            sessions: self.sessions, messages: self.messages, gateway: self.gateway, settings: self.settings,
            contextLimits: ContextLimits(settings: self.settings, repository: self.settingsRepository), registry: self.registry,
            maxAnswerBytes: configuration.maxAnswerBytes, logger: logger
        )
    }

    /// Opens (creating when missing) and migrates the database and loads or generates the secrets.
    public static func make(configuration: BackendConfiguration, logger: Logger) async throws -> Backend {
        let database = try await Self.openDatabase(configuration.database, logger: logger)
        do {
            try await Migrator().migrate(database, logger: logger)
            // Answers the last run left streaming (it was killed) keep their partial text, marked as interrupted.
            try await AnswerCheckpoints(messages: SQLMessageRepository(database: database), logger: logger).recover()
            let secrets = SecretStore(directory: configuration.dataDirectory, logger: logger)
            let jwtSecret = try secrets.secret(configured: configuration.jwtSecret, fileName: ".jwt_secret", variable: "JWT_SECRET")
            let encryptionKey = try secrets.secret(
                configured: configuration.encryptionKey, fileName: ".encryption_key", variable: "ENCRYPTION_KEY"
            )
            if let configured = configuration.jwtSecret, configured.utf8.count < 32 {
                logger.warning("JWT_SECRET is shorter than 32 characters; use a longer random value")
            }
            let backend = Backend(
                configuration: configuration, logger: logger, database: database,
                tokens: TokenService(secret: jwtSecret), cipher: SecretCipher(encryptionKey: encryptionKey)
            )
            try await backend.prepareFirstRun()
            return backend
        } catch {
            await database.close()
            throw error
        }
    }

    /// With no user yet: creates the administrator `ADMIN_USERNAME` / `ADMIN_PASSWORD` name, so a new instance never
    /// waits on the open network for its first visitor; without them, says that the first registration becomes admin.
    func prepareFirstRun() async throws {
        guard try await self.users.count() == 0 else { return }
        guard let admin = self.configuration.initialAdmin else {
            self.logger.notice(
                "No user exists yet: the first account registered becomes the administrator. Register it now, or set ADMIN_USERNAME and ADMIN_PASSWORD."
            )
            return
        }
        do {
            let user = try await self.users.create(
                username: admin.username, hashedPassword: try await self.hasher.hash(admin.password), role: .admin)
            self.logger.notice("created the administrator \(user.username) from ADMIN_USERNAME")
        } catch UserStoreError.usernameTaken {
            // Another backend on the same database created it first.
        }
    }

    static func openDatabase(_ location: DatabaseLocation, logger: Logger) async throws -> any AppDatabase {
        switch location {
            case .sqlite:
                return try await SQLiteAppDatabase.open(path: location.absoluteSQLitePath ?? "data/app.db", logger: logger)
            case .postgres(let url):
                return try await PostgresAppDatabase.open(url: url, logger: logger)
        }
    }

    /// Every route of the API, grouped as mounted.
    public func router() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        if self.configuration.corsEnabled {
            let origin = self.configuration.corsOrigin
            router.add(
                middleware: CORSMiddleware(
                    allowOrigin: origin == "*" ? .all : .custom(origin),
                    allowHeaders: [.contentType, .authorization, .cacheControl, .accept],
                    allowMethods: [.get, .post, .put, .patch, .delete, .options],
                    allowCredentials: origin != "*",
                    maxAge: .seconds(600)
                )
            )
        }
        // Inside CORS, so error responses keep their status and still get CORS headers.
        router.add(middleware: APIErrorMiddleware())
        let authenticator = Authenticator(tokens: self.tokens, users: self.users)
        // Body limits per route group (``BodyLimitMiddleware``): small JSON everywhere except the sends, which may
        // carry images (MAX_BODY_BYTES), and the model list import.
        let limit = BodyLimitMiddleware.smallJSON
        let small = BodyLimitMiddleware(limit: limit)
        let imports = 1 << 20
        let sends = self.configuration.maxBodyBytes

        RootController().addRoutes(to: router)

        // /api/auth
        AuthController(
            users: self.users, hasher: self.hasher, tokens: self.tokens, authenticator: authenticator,
            settings: self.settings, throttle: self.throttle, cookie: TokenCookie(policy: self.configuration.cookieSecure),
            appMode: self.configuration.appMode, bodyLimit: limit
        ).addRoutes(to: router.group("api/auth").add(middleware: small))

        // /api/users (admin)
        UsersController(users: self.users, hasher: self.hasher, registry: self.registry, bodyLimit: limit)
            .addRoutes(
                to: router.group("api/users").add(middleware: small).add(
                    middleware: RequireUserMiddleware(authenticator: authenticator, adminOnly: true))
            )

        // /api/settings
        SettingsController(
            settings: self.settings, repository: self.settingsRepository, users: self.users, database: self.database,
            authenticator: authenticator, appMode: self.configuration.appMode, bodyLimit: limit
        ).addRoutes(to: router.group("api/settings").add(middleware: small))

        // /api/connections
        ConnectionsController(
            connections: self.connections, cipher: self.cipher, authenticator: authenticator,
            verifier: ConnectionVerifier(gateway: self.gateway), catalog: self.catalog, bodyLimit: limit
        ).addRoutes(to: router.group("api/connections").add(middleware: small))

        // /api/catalog
        CatalogController(
            catalog: self.catalog, connections: self.connections, repository: self.catalogRepository, authenticator: authenticator,
            bodyLimit: imports
        ).addRoutes(to: router.group("api/catalog").add(middleware: BodyLimitMiddleware(limit: imports)))

        // /api/sessions and /api/chat (signed in)
        let resolver = ModelResolver(connections: self.connections, catalog: self.catalog)
        let signedIn = RequireUserMiddleware(authenticator: authenticator)
        SessionsController(
            sessions: self.sessions, messages: self.messages, connections: self.connections, resolver: resolver, registry: self.registry,
            bodyLimit: limit
        )
        .addRoutes(to: router.group("api/sessions").add(middleware: small).add(middleware: signedIn))
        ChatReadController(
            sessions: self.sessions, messages: self.messages, usage: self.usage, registry: self.registry,
            contextLimits: ContextLimits(settings: self.settings, repository: self.settingsRepository), bodyLimit: limit
        ).addRoutes(to: router.group("api/chat").add(middleware: small).add(middleware: signedIn))
        let chatSends = router.group("api/chat").add(middleware: BodyLimitMiddleware(limit: sends)).add(middleware: signedIn)
        ChatController(service: self.chat, sessions: self.sessions, messages: self.messages, usage: self.usage, resolver: resolver, bodyLimit: sends)
            .addRoutes(to: chatSends)
        GenerateController(service: self.chat, resolver: resolver, bodyLimit: sends).addRoutes(to: chatSends)

        return router
    }

    /// The HTTP server with this backend's routes (Hummingbird's HTTP/1.1 server); closing the database is part of
    /// its graceful shutdown.
    public func application(port: Int? = nil) -> some ApplicationProtocol {
        Application(
            router: self.router(),
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(self.configuration.httpIdleTimeoutSeconds)))),
            // A burst of new connections (thousands of answers started at once through the frontend) waits in the
            // kernel's queue instead of being refused.
            configuration: .init(
                address: .hostname(self.configuration.host, port: port ?? self.configuration.port), serverName: "aichat-backend",
                backlog: 4096
            ),
            // Stopped in reverse order, after the server: running answers are finished or saved, and their responses
            // written, before the database closes.
            services: [ShutdownService(backend: self), DrainService(registry: self.registry, grace: .seconds(20))],
            logger: self.logger
        )
    }

    /// Releases the database, the hasher's threads and the HTTP clients; once, however often it is called.
    public func shutdown() async {
        guard !self.isShutDown.exchange(true, ordering: .relaxed) else { return }
        await self.registry.drain(grace: .zero)
        await self.database.close()
        await self.hasher.shutdown()
        await self.httpClient.shutdown()
    }
}

/// Waits for graceful shutdown, then releases the backend's resources.
struct ShutdownService: Service {
    let backend: Backend

    func run() async throws {
        try? await gracefulShutdown()
        await self.backend.shutdown()
    }
}

/// On graceful shutdown, lets running answers finish for a while, then stops and saves the rest.
struct DrainService: Service {
    let registry: GenerationRegistry
    let grace: Duration

    func run() async throws {
        try? await gracefulShutdown()
        await self.registry.drain(grace: self.grace)
    }
}

/// Logs each request at debug level and failures (5xx) at error level, with its duration.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // The line is made only when it is logged (the message is an autoclosure).
        if response.status.code >= 500 {
            context.logger.error("\(Self.line(request, response, since: start))")
        } else {
            context.logger.debug("\(Self.line(request, response, since: start))")
        }
        return response
    }

    /// `GET /api/x 200 1.5ms`
    static func line(_ request: Request, _ response: Response, since start: ContinuousClock.Instant) -> String {
        let elapsed = start.duration(to: .now)
        let tenths = Int((Double(elapsed.components.seconds) * 10_000 + Double(elapsed.components.attoseconds) / 1e14).rounded())
        return "\(request.method) \(request.uri.path) \(response.status.code) \(tenths / 10).\(tenths % 10)ms"
    }
}
