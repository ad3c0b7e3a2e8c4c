import AIChatBackend
import AIChatCore
import Foundation
import Logging

/// `aichat-backend` serves the API; `aichat-backend migrate` only brings the database schema up to date.
@main
struct BackendMain {
    static func main() async {
        let (configuration, logger) = startServer(label: "aichat-backend", configuration: BackendConfiguration.init(env:), logLevel: \.logLevel)
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
