import NIOCore
import Testing

@testable import AIChatBackend

struct FrameQueueTests {
    /// Frames that pile up are taken as one buffer in order; a waiting watcher is woken by the next frame; after
    /// the end, what was pending still arrives, then nil.
    @Test func framesArriveInOrderAndCoalesce() async throws {
        let queue = FrameQueue()
        queue.push(ByteBuffer(string: "a"))
        queue.push(ByteBuffer(string: "b"))
        #expect(await queue.next() == ByteBuffer(string: "ab"))

        let waiting = Task { await queue.next() }
        try await Task.sleep(for: .milliseconds(50))
        queue.push(ByteBuffer(string: "c"))
        #expect(await waiting.value == ByteBuffer(string: "c"))

        queue.push(ByteBuffer(string: "d"))
        queue.finish()
        queue.push(ByteBuffer(string: "ignored"))
        #expect(await queue.next() == ByteBuffer(string: "d"))
        #expect(await queue.next() == nil)
        #expect(await queue.next() == nil)
    }

    @Test func aWaitingWatcherSeesTheEnd() async throws {
        let queue = FrameQueue()
        let waiting = Task { await queue.next() }
        try await Task.sleep(for: .milliseconds(50))
        queue.finish()
        #expect(await waiting.value == nil)
    }
}
