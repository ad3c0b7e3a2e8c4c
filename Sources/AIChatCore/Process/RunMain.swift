import Dispatch
import Foundation

/// Runs `body` on the concurrency thread pool while the main thread waits, then exits with status 0 (the frontend's
/// entry point).
///
/// An `async` main would hand the main thread to `dispatch_main`, which ends it with `pthread_exit`: the unwinder
/// then walks the main thread's stack through the binary's unwind tables, which leaves about 1 MB of those tables
/// resident for the life of the process. The frontend never uses the main actor, so the main thread only waits here.
/// (The backend keeps its `async` main: its time to first token measured slightly worse with this one.)
public func runMain(_ body: @escaping @Sendable () async -> Void) -> Never {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
    exit(0)
}
