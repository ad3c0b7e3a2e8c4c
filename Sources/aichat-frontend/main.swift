import AIChatCore
import AIChatFrontend
import Foundation
import Logging

MemoryTuning.apply(environment: ProcessInfo.processInfo.environment)
let env = EnvironmentValues.load()
let configuration: FrontendConfiguration
do {
    configuration = try FrontendConfiguration(env: env)
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
let level = configuration.logLevel
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardOutput(label: label)
    handler.logLevel = level
    return handler
}
let logger = Logger(label: "aichat-frontend")
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
