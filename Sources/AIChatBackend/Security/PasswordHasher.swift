import AIChatCore
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt hashing on its own threads, so slow hashes never stall request handling or database calls.
///
/// At most `limit` hashes are running or waiting at once; beyond that a call fails at once with a 429
/// (`Retry-After: 1`) instead of queueing without end, so a flood of logins costs a bounded amount of CPU and memory.
public final class PasswordHasher: Sendable {
    public let cost: Int
    public let limit: Int
    private let threadPool: NIOThreadPool
    private let dummyHash = Mutex<String?>(nil)
    private let inFlight = Atomic<Int>(0)

    public init(cost: Int, threads: Int = 2, limit: Int = 64) {
        self.cost = cost
        self.limit = max(1, limit)
        self.threadPool = NIOThreadPool(numberOfThreads: threads)
        self.threadPool.start()
    }

    /// Hashes running or waiting now.
    public var pending: Int { self.inFlight.load(ordering: .relaxed) }

    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await self.run { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies `$2a$`, `$2b$` and `$2y$` hashes (the original wrote `$2a$`).
    public func verify(_ password: String, hash: String) async throws -> Bool {
        let normalized = hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
        return try await self.run { Bcrypt.verify(password, hash: normalized) }
    }

    private func run<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async throws -> Value {
        let before = self.inFlight.wrappingAdd(1, ordering: .relaxed).oldValue
        defer { self.inFlight.wrappingSubtract(1, ordering: .relaxed) }
        guard before < self.limit else {
            throw APIError.tooManyRequests("The server is busy checking passwords. Try again in a moment.", retryAfterSeconds: 1)
        }
        return try await self.threadPool.runIfActive(work)
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
