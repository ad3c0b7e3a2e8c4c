import Crypto
import Foundation
import Logging

/// Loads or creates the secrets a deployment must not share with anyone else.
///
/// When `JWT_SECRET` or `ENCRYPTION_KEY` is unset (or a public placeholder), a random 256-bit value is generated
/// on first start and kept in the data folder with mode 0600, so tokens and stored API keys survive restarts.
public struct SecretStore {
    public let directory: String
    public let logger: Logger

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// The configured value, or the persisted one, or a newly generated one.
    public func secret(configured: String?, fileName: String, variable: String) throws -> String {
        if let configured { return configured }
        let path = URL(fileURLWithPath: self.directory).appendingPathComponent(fileName).path
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let value = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if value.count >= 32 { return value }
        }
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        let value = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        let created = FileManager.default.createFile(
            atPath: path,
            contents: Data((value + "\n").utf8),
            attributes: [.posixPermissions: 0o600]
        )
        guard created else {
            throw DatabaseError("cannot write \(path); set \(variable) or make the data folder writable")
        }
        self.logger.notice("\(variable) is not set: generated a random secret and saved it in \(path)")
        return value
    }
}
