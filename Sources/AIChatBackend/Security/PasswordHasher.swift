import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt hashing on its own threads, so slow hashes never stall request handling or database calls.
public final class PasswordHasher: Sendable {
    public let cost: Int
    private let threadPool: NIOThreadPool
    private let dummyHash = Mutex<String?>(nil)

    public init(cost: Int, threads: Int = 2) {
        self.cost = cost
        self.threadPool = NIOThreadPool(numberOfThreads: threads)
        self.threadPool.start()
    }

    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await self.threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies `$2a$`, `$2b$` and `$2y$` hashes (the original wrote `$2a$`).
    public func verify(_ password: String, hash: String) async throws -> Bool {
        let normalized = hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
        return try await self.threadPool.runIfActive { Bcrypt.verify(password, hash: normalized) }
    }

    /// Spends the time of one verification, so an unknown username answers as slowly as a wrong password.
    public func verifyAgainstNothing(_ password: String) async throws {
        let existing = self.dummyHash.withLock { $0 }
        let hash: String
        if let existing {
            hash = existing
        } else {
            hash = try await self.hash("not a password of anyone")
            self.dummyHash.withLock { $0 = hash }
        }
        _ = try await self.verify(password, hash: hash)
    }

    public func shutdown() async {
        try? await self.threadPool.shutdownGracefully()
    }
}
