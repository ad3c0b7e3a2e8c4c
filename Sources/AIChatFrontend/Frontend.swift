import AIChatCore
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Request context of the frontend server.
public struct FrontendRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// The composition root of the frontend server: resources (templates, strings, static files) → HTTP client →
/// controllers → router.
public struct Frontend: Sendable {
    public let configuration: FrontendConfiguration
    public let logger: Logger
    public let client: HTTPClient
    let environment: PageEnvironment
    let startedAt = ContinuousClock.now

    /// Loads `Resources/templates`, `Resources/i18n` and `Resources/public`; a missing template or strings file
    /// stops start-up.
    ///
    /// The proxy reaches the backend through a keep-alive pool (AsyncHTTPClient) large enough for every answer
    /// stream to hold a connection; a request that finds no connection ready waits for one, with new connections
    /// retried, for up to ``backendWaitLimit`` (then 502), so a burst of thousands of sends is queued, not refused.
    public init(configuration: FrontendConfiguration, logger: Logger) async throws {
        let resources = configuration.resourcesDirectory
        self.environment = PageEnvironment(
            renderer: try await PageRenderer(directory: resources + "/templates"),
            localization: try Localization(directory: resources + "/i18n"),
            assets: try StaticAssets(directory: resources + "/public")
        )
        self.configuration = configuration
        self.logger = logger
        self.client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .disallow, timeout: .init(connect: Self.backendWaitLimit),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 8192),
                // Bodies pass through as the backend sent them, encoding and all.
                decompression: .disabled
            )
        )
    }

    /// How long a request waits for a connection to the backend (connects are retried meanwhile).
    static let backendWaitLimit = TimeAmount.seconds(5)

    public func shutdown() async {
        try? await self.client.shutdown()
    }

    struct Health: Encodable {
        let status = "ok"
        let timestamp: Timestamp
        let service = "aichat-frontend"
        let version = AppInfo.version
        let environment: String
        let uptime: Double
    }

    public func router() -> Router<FrontendRequestContext> {
        let router = Router(context: FrontendRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: APIErrorMiddleware())
        router.add(middleware: PageErrorMiddleware(environment: self.environment))
        router.add(middleware: OriginCheckMiddleware(trustedOrigins: self.configuration.trustedOrigins))
        let environment = self.configuration.environment.rawValue
        let startedAt = self.startedAt
        router.get("/api/health") { _, _ in
            let uptime = startedAt.duration(to: .now)
            return JSONResponse.make(
                status: .ok,
                Health(
                    timestamp: .now(), environment: environment,
                    uptime: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18)
            )
        }
        router.head("/api/health") { _, _ in Response(status: .ok) }
        APIProxy<FrontendRequestContext>(
            client: self.client, backendBaseURL: self.configuration.backendBaseURL, bodyLimit: self.configuration.maxBodyBytes
        )
        .addRoutes(to: router)

        // Pages and static files
        let backend = BackendClient(client: self.client, baseURL: self.configuration.backendBaseURL)
        let cookie = SessionCookie(policy: self.configuration.cookieSecure)
        self.environment.assets.addRoutes(to: router)
        AuthPagesController(environment: self.environment, backend: backend, cookie: cookie).addRoutes(to: router)
        AppPagesController(environment: self.environment, backend: backend, cookie: cookie).addRoutes(to: router)
        return router
    }

    public func application(port: Int? = nil) -> some ApplicationProtocol {
        Application(
            router: self.router(),
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(self.configuration.httpIdleTimeoutSeconds)))),
            configuration: .init(
                address: .hostname(self.configuration.host, port: port ?? self.configuration.port), serverName: "aichat-frontend",
                backlog: 4096
            ),
            services: [ClientShutdownService(frontend: self)],
            logger: self.logger
        )
    }
}

/// Shuts the proxy's HTTP client down after the server has stopped.
struct ClientShutdownService: Service {
    let frontend: Frontend

    func run() async throws {
        try? await gracefulShutdown()
        await self.frontend.shutdown()
    }
}
