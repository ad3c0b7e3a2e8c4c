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

    private actor ReaderPool {
        private var idle: [Int]
        private var waiters: [CheckedContinuation<Int, Never>] = []

        init(count: Int) { self.idle = Array(0..<count) }

        func take() async -> Int {
            if let index = self.idle.popLast() { return index }
            return await withCheckedContinuation { self.waiters.append($0) }
        }

        func give(_ index: Int) {
            if self.waiters.isEmpty {
                self.idle.append(index)
            } else {
                self.waiters.removeFirst().resume(returning: index)
            }
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
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let index = await self.readerPool.take()
        do {
            let result = try await body(self.readers[index].sql())
            await self.readerPool.give(index)
            return result
        } catch {
            await self.readerPool.give(index)
            throw error
        }
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
