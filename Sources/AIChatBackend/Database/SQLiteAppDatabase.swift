import AIChatCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization

/// SQLite in WAL mode: one writer connection behind a FIFO lock, and a small pool of reader connections.
public final class SQLiteAppDatabase: AppDatabase {
    public let flavor = SQLFlavor.sqlite
    public let path: String
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let writeLock = AsyncSemaphore(permits: 1)
    private let readerPool: ReaderPool
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let closed = Mutex(false)

    /// The reader connections not in use; the semaphore counts them, so a taker always finds one.
    private final class ReaderPool: Sendable {
        private let free: AsyncSemaphore
        private let idle: Mutex<[Int]>

        init(count: Int) {
            self.free = AsyncSemaphore(permits: count)
            self.idle = Mutex(Array(0..<count))
        }

        func take() async -> Int {
            await self.free.acquire()
            return self.idle.withLock { $0.removeLast() }
        }

        func give(_ index: Int) {
            self.idle.withLock { $0.append(index) }
            self.free.release()
        }
    }

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], threadPool: NIOThreadPool, logger: Logger) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.readerPool = ReaderPool(count: readers.count)
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating when missing) the database file and its folder.
    public static func open(path: String, readerCount: Int = 4, logger: Logger) async throws -> SQLiteAppDatabase {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw DatabaseError("cannot create the data folder \(folder): \(error.localizedDescription)")
        }
        if !FileManager.default.isWritableFile(atPath: folder) {
            throw DatabaseError("the data folder \(folder) is not writable by this user (uid \(getuid())); fix its owner or permissions")
        }
        let threadPool = NIOThreadPool(numberOfThreads: max(2, readerCount + 1))
        threadPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop)
            opened.append(writer)
            try await configure(writer, isWriter: true)
            var readers: [SQLiteConnection] = []
            for _ in 0..<max(1, readerCount) {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop)
                opened.append(reader)
                try await configure(reader, isWriter: false)
                readers.append(reader)
            }
            return SQLiteAppDatabase(path: path, writer: writer, readers: readers, threadPool: threadPool, logger: logger)
        } catch {
            for connection in opened { try? await connection.close() }
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    private static func configure(_ connection: SQLiteConnection, isWriter: Bool) async throws {
        let sql = connection.sql()
        if isWriter {
            try await sql.raw("PRAGMA journal_mode = WAL").run()
        }
        try await sql.raw("PRAGMA foreign_keys = ON").run()
        try await sql.raw("PRAGMA busy_timeout = 5000").run()
        try await sql.raw("PRAGMA synchronous = NORMAL").run()
        // Each connection's own page cache (SQLite's default is up to 2 MB): the operating system caches the file
        // as well, so a small one costs a few microseconds per query, while the default grows to several MB of
        // process memory across the pool once the database is larger than that.
        try await sql.raw("PRAGMA cache_size = -\(unsafeRaw: String(Self.pageCacheKiB))").run()
    }

    /// Upper bound of each connection's page cache, in KiB.
    static let pageCacheKiB = 512

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let index = await self.readerPool.take()
        defer { self.readerPool.give(index) }
        return try await body(self.readers[index].sql())
    }

    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await self.writeLock.withPermit {
            let sql = self.writer.sql()
            try await sql.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                do {
                    try await sql.raw("ROLLBACK").run()
                } catch {
                    self.logger.error("rollback failed: \(error)")
                }
                throw error
            }
        }
    }

    public func writeStatements<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await self.writeLock.withPermit { try await body(self.writer.sql()) }
    }

    public func close() async {
        let alreadyClosed = self.closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !alreadyClosed else { return }
        await self.writeLock.acquire()
        for connection in [self.writer] + self.readers where !connection.isClosed {
            try? await connection.close()
        }
        try? await self.threadPool.shutdownGracefully()
    }
}
