import Foundation
import AIChatCore
import Hummingbird
import Logging
import ServiceLifecycle

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

    init(
        configuration: BackendConfiguration, logger: Logger, database: any AppDatabase,
        tokens: TokenService, cipher: SecretCipher
    ) {
        self.configuration = configuration
        self.logger = logger
        self.database = database
        self.users = SQLUserRepository(database: database)
        self.settingsRepository = SQLSettingsRepository(database: database)
        self.settings = SystemSettingsService(repository: self.settingsRepository, configuration: configuration)
        self.tokens = tokens
        self.cipher = cipher
        self.hasher = PasswordHasher(cost: configuration.bcryptCost)
        self.throttle = LoginThrottle(maxFailures: configuration.loginMaxFailures, windowSeconds: configuration.loginWindowSeconds)
    }

    /// Opens (creating when missing) and migrates the database and loads or generates the secrets.
    public static func make(configuration: BackendConfiguration, logger: Logger) async throws -> Backend {
        let database = try await Self.openDatabase(configuration.database, logger: logger)
        do {
            try await Migrator().migrate(database, logger: logger)
            let secrets = SecretStore(directory: configuration.dataDirectory, logger: logger)
            let jwtSecret = try secrets.secret(configured: configuration.jwtSecret, fileName: ".jwt_secret", variable: "JWT_SECRET")
            let encryptionKey = try secrets.secret(
                configured: configuration.encryptionKey, fileName: ".encryption_key", variable: "ENCRYPTION_KEY"
            )
            if let configured = configuration.jwtSecret, configured.utf8.count < 32 {
                logger.warning("JWT_SECRET is shorter than 32 characters; use a longer random value")
            }
            return Backend(
                configuration: configuration, logger: logger, database: database,
                tokens: TokenService(secret: jwtSecret), cipher: SecretCipher(encryptionKey: encryptionKey)
            )
        } catch {
            await database.close()
            throw error
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
        router.add(middleware: APIErrorMiddleware())
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
        let authenticator = Authenticator(tokens: self.tokens, users: self.users)
        let limit = self.configuration.maxBodyBytes

        RootController().addRoutes(to: router)

        // /api/auth
        AuthController(
            users: self.users, hasher: self.hasher, tokens: self.tokens, authenticator: authenticator,
            settings: self.settings, throttle: self.throttle, cookie: AuthCookie(policy: self.configuration.cookieSecure),
            appMode: self.configuration.appMode, bodyLimit: limit
        ).addRoutes(to: router.group("api/auth"))

        // /api/users (admin)
        UsersController(users: self.users, hasher: self.hasher, bodyLimit: limit)
            .addRoutes(to: router.group("api/users").add(middleware: RequireUserMiddleware(authenticator: authenticator, adminOnly: true)))

        // /api/settings
        SettingsController(
            settings: self.settings, repository: self.settingsRepository, users: self.users, database: self.database,
            authenticator: authenticator, appMode: self.configuration.appMode, bodyLimit: limit
        ).addRoutes(to: router.group("api/settings"))

        return router
    }

    /// The HTTP server with this backend's routes; closing the database is part of its graceful shutdown.
    public func application() -> some ApplicationProtocol {
        var app = Application(
            router: self.router(),
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port), serverName: "aichat-backend"),
            logger: self.logger
        )
        app.addServices(ShutdownService(backend: self))
        return app
    }

    public func shutdown() async {
        await self.database.close()
        await self.hasher.shutdown()
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

/// Logs each request at debug level and failures (5xx) at error level, with its duration.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = start.duration(to: .now)
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let line: Logger.Message = "\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", millis))ms"
        if response.status.code >= 500 {
            context.logger.error(line)
        } else {
            context.logger.debug(line)
        }
        return response
    }
}
