import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs a task's jobs on one of NIO's event loops. A task that mostly talks to connections (a provider request
/// being opened) then writes to them from their own thread, without handing each write to a sleeping loop.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.eventLoop.execute { job.runSynchronously(on: executor) }
    }

    /// One executor per loop of the shared group, handed out in turn.
    public static let shared: [EventLoopTaskExecutor] = MultiThreadedEventLoopGroup.singleton.makeIterator().map { EventLoopTaskExecutor($0) }
    private static let turn = NIOLockedValueBox(0)

    /// The executor of `loop`.
    public static func on(_ loop: any EventLoop) -> EventLoopTaskExecutor {
        Self.shared.first { $0.eventLoop === loop } ?? EventLoopTaskExecutor(loop)
    }

    public static func next() -> EventLoopTaskExecutor {
        let index = Self.turn.withLockedValue { turn in
            defer { turn = (turn + 1) % Self.shared.count }
            return turn
        }
        return Self.shared[index]
    }
}
