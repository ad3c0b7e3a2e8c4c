import AIChatBackend
import AIChatCore
import Foundation
import Logging

/// `aichat-backend` serves the API; `aichat-backend migrate` only brings the database schema up to date.
@main
struct BackendMain {
    static func main() async {
        MemoryTuning.apply(environment: ProcessInfo.processInfo.environment)
        let env = EnvironmentValues.load()
        let configuration: BackendConfiguration
        do {
            configuration = try BackendConfiguration(env: env)
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
        let logger = Logger(label: "aichat-backend")
        let arguments = CommandLine.arguments.dropFirst()
        do {
            if arguments.first == "migrate" {
                let backend = try await Backend.make(configuration: configuration, logger: logger)
                let version = try await Migrator().currentVersion(backend.database)
                logger.info("database schema is at version \(version)")
                await backend.shutdown()
                return
            }
            if let unknown = arguments.first {
                FileHandle.standardError.write(Data("Unknown command \"\(unknown)\". Usage: aichat-backend [migrate]\n".utf8))
                exit(2)
            }
            let backend = try await Backend.make(configuration: configuration, logger: logger)
            logger.notice(
                "aichat-backend \(AppInfo.version) (\(configuration.environment.rawValue)) listening on http://\(configuration.host):\(configuration.port), health: /api/settings/health"
            )
            try await backend.application().runService()
        } catch {
            logger.critical("aichat-backend stopped: \(error)")
            exit(1)
        }
    }
}
