import AIChatCore
import AIChatFrontend
import Foundation
import Logging

runMain {
    let (configuration, logger) = startServer(label: "aichat-frontend", configuration: FrontendConfiguration.init(env:), logLevel: \.logLevel)
    logger.notice(
        "aichat-frontend \(AppInfo.version) listening on http://\(configuration.host):\(configuration.port), proxying /api to \(configuration.backendBaseURL)"
    )
    let frontend: Frontend
    do {
        frontend = try await Frontend(configuration: configuration, logger: logger)
    } catch {
        logger.critical("aichat-frontend cannot start: \(error)")
        exit(1)
    }
    do {
        try await frontend.application().runService()
    } catch {
        logger.critical("aichat-frontend stopped: \(error)")
        exit(1)
    }
}
