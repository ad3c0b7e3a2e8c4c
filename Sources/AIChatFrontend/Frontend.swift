import AIChatCore
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Request context of the frontend server.
public struct FrontendRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// The composition root of the frontend server.
public struct Frontend: Sendable {
    public let configuration: FrontendConfiguration
    public let logger: Logger
    public let client: HTTPClient
    let startedAt = ContinuousClock.now

    public init(configuration: FrontendConfiguration, logger: Logger, client: HTTPClient = .shared) {
        self.configuration = configuration
        self.logger = logger
        self.client = client
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
        router.add(middleware: APIErrorMiddleware())
        let environment = self.configuration.environment.rawValue
        let startedAt = self.startedAt
        router.get("/api/health") { _, _ in
            let uptime = startedAt.duration(to: .now)
            return JSONResponse.make(
                status: .ok,
                Health(timestamp: .now(), environment: environment, uptime: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18)
            )
        }
        router.head("/api/health") { _, _ in Response(status: .ok) }
        APIProxy<FrontendRequestContext>(client: self.client, backendBaseURL: self.configuration.backendBaseURL, bodyLimit: self.configuration.maxBodyBytes)
            .addRoutes(to: router)
        return router
    }

    public func application() -> some ApplicationProtocol {
        Application(
            router: self.router(),
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port), serverName: "aichat-frontend"),
            logger: self.logger
        )
    }
}
