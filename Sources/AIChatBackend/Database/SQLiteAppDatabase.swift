import AIChatCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization
import VaporCSQLite

/// SQLite in WAL mode: one writer connection behind a FIFO lock, and a small pool of reader connections.
///
/// Statements run on the calling task's thread (see ``SQLiteHandle``); checkpoints, which copy the log into the
/// database file and flush it to disk, run on a thread of their own with a connection of their own, started when
/// the log has grown past ``checkpointPages`` pages.
public final class SQLiteAppDatabase: AppDatabase {
    public let flavor = SQLFlavor.sqlite
    public let path: String
    private let writer: SQLiteHandle
    private let readers: [SQLiteHandle]
    private let writeLock = AsyncSemaphore(permits: 1)
    private let readerPool: ReaderPool
    private let checkpointer: Checkpointer
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let closed = Mutex(false)

    /// Log size (in pages) after which a checkpoint starts; SQLite's own automatic checkpoint uses the same.
    static let checkpointPages: Int32 = 1000

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

    /// Runs one passive checkpoint at a time on its own thread when the writer reports a long log.
    ///
    /// A checkpoint lets the log start over only once it has copied everything and no write began meanwhile; under
    /// a steady stream of writes that moment may not come, so once the log is several times the checkpoint length,
    /// writers wait (suspended) for the running checkpoint to finish.
    final class Checkpointer: Sendable {
        private struct State {
            var running = false
            var closed = false
            var logPages: Int32 = 0
            var waiters: [CheckedContinuation<Void, Never>] = []
        }

        private let connection: SQLiteHandle
        private let thread: NIOThreadPool
        private let state = Mutex(State())
        private let logger: Logger

        init(connection: SQLiteHandle, logger: Logger) {
            self.connection = connection
            self.thread = NIOThreadPool(numberOfThreads: 1)
            self.thread.start()
            self.logger = logger
        }

        /// Called from the writer's commit with the log's length: starts a checkpoint when it is long, unless one is
        /// running. Must not wait.
        func committed(logPages: Int32) {
            let start = self.state.withLock { state in
                state.logPages = logPages
                guard logPages >= SQLiteAppDatabase.checkpointPages, !state.running, !state.closed else { return false }
                state.running = true
                return true
            }
            guard start else { return }
            self.thread.submit { [self] work in
                if case .active = work {
                    do {
                        _ = try self.connection.run("PRAGMA wal_checkpoint(PASSIVE)", []) { _ in }
                    } catch {
                        self.logger.warning("checkpoint failed: \(error)")
                    }
                }
                let waiters = self.state.withLock { state in
                    state.running = false
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }

        /// Returns once the log is short enough to write more, or no checkpoint is running.
        func settle() async {
            let mustWait = self.state.withLock { $0.running && $0.logPages >= 4 * SQLiteAppDatabase.checkpointPages }
            guard mustWait else { return }
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let waiting = self.state.withLock { state in
                    guard state.running else { return false }
                    state.waiters.append(waiter)
                    return true
                }
                if !waiting { waiter.resume() }
            }
        }

        func close() async {
            self.state.withLock { $0.closed = true }
            try? await self.thread.shutdownGracefully()
            self.connection.close()
        }
    }

    private init(path: String, writer: SQLiteHandle, readers: [SQLiteHandle], checkpointer: Checkpointer, logger: Logger) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.readerPool = ReaderPool(count: readers.count)
        self.checkpointer = checkpointer
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.logger = logger
        // The writer reports the log's length after each commit; past the limit the checkpointer takes over
        // (this replaces SQLite's automatic checkpoint, which would run inside the committing call).
        sqlite_nio_sqlite3_wal_hook(
            writer.rawHandle,
            { context, _, _, pages in
                if let context { Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue().committed(logPages: pages) }
                return SQLITE_OK
            },
            Unmanaged.passUnretained(checkpointer).toOpaque()
        )
    }

    /// Opens (creating when missing) the database file and its folder.
    /// `busyLimit`: how long a statement waits while another process holds a lock it needs.
    public static func open(path: String, readerCount: Int = 4, busyLimit: Duration = .seconds(5), logger: Logger) async throws -> SQLiteAppDatabase {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw DatabaseError("cannot create the data folder \(folder): \(error.localizedDescription)")
        }
        if !FileManager.default.isWritableFile(atPath: folder) {
            throw DatabaseError("the data folder \(folder) is not writable by this user (uid \(getuid())); fix its owner or permissions")
        }
        var opened: [SQLiteHandle] = []
        do {
            let writer = try SQLiteHandle(path: path, busyLimit: busyLimit)
            opened.append(writer)
            try await configure(writer, isWriter: true)
            var readers: [SQLiteHandle] = []
            for _ in 0..<max(1, readerCount) {
                let reader = try SQLiteHandle(path: path, busyLimit: busyLimit)
                opened.append(reader)
                try await configure(reader, isWriter: false)
                readers.append(reader)
            }
            let checkpoints = try SQLiteHandle(path: path, busyLimit: busyLimit)
            opened.append(checkpoints)
            try await configure(checkpoints, isWriter: false)
            let checkpointer = Checkpointer(connection: checkpoints, logger: logger)
            return SQLiteAppDatabase(path: path, writer: writer, readers: readers, checkpointer: checkpointer, logger: logger)
        } catch {
            for connection in opened { connection.close() }
            throw error
        }
    }

    private static func configure(_ connection: SQLiteHandle, isWriter: Bool) async throws {
        func pragma(_ text: String) async throws {
            try await connection.execute("PRAGMA " + text, []) { _ in }
        }
        if isWriter {
            try await pragma("journal_mode = WAL")
        }
        try await pragma("foreign_keys = ON")
        // Waits for locks are retried with a suspension (``SQLiteHandle/execute(_:_:_:)``), never inside SQLite.
        try await pragma("busy_timeout = 0")
        try await pragma("synchronous = NORMAL")
        // Each connection's own page cache (SQLite's default is up to 2 MB): the operating system caches the file
        // as well, so a small one costs a few microseconds per query, while the default grows to several MB of
        // process memory across the pool once the database is larger than that.
        try await pragma("cache_size = -\(Self.pageCacheKiB)")
    }

    /// Upper bound of each connection's page cache, in KiB.
    static let pageCacheKiB = 512

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let index = await self.readerPool.take()
        defer { self.readerPool.give(index) }
        return try await body(self.readers[index].sql(logger: self.logger, eventLoop: self.eventLoop))
    }

    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await self.writeLock.withPermit {
            await self.checkpointer.settle()
            let sql = self.writer.sql(logger: self.logger, eventLoop: self.eventLoop)
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
        try await self.writeLock.withPermit {
            await self.checkpointer.settle()
            return try await body(self.writer.sql(logger: self.logger, eventLoop: self.eventLoop))
        }
    }

    public func close() async {
        let alreadyClosed = self.closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !alreadyClosed else { return }
        await self.writeLock.acquire()
        await self.checkpointer.close()
        // Each reader is closed once its current user has given it back; later reads fail instead of waiting.
        var taken: [Int] = []
        for _ in self.readers { taken.append(await self.readerPool.take()) }
        for index in taken {
            self.readers[index].close()
            self.readerPool.give(index)
        }
        self.writer.close()
    }
}
