import Foundation
import Logging

/// The common start of both servers: applies the memory settings, reads the configuration from the environment
/// (an invalid one prints its one-line error and exits with status 1), and sends logs to standard output at the
/// configured level. Returns the configuration and the server's logger.
public func startServer<Configuration>(
    label: String, configuration make: (EnvironmentValues) throws -> Configuration, logLevel: (Configuration) -> Logger.Level
) -> (Configuration, Logger) {
    MemoryTuning.apply(environment: ProcessInfo.processInfo.environment)
    let configuration: Configuration
    do {
        configuration = try make(EnvironmentValues.load())
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
    let level = logLevel(configuration)
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardOutput(label: label)
        handler.logLevel = level
        return handler
    }
    return (configuration, Logger(label: label))
}
