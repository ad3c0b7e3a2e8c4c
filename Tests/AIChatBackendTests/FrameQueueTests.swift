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

struct GenerationJobTests {
    /// A watcher that attaches late gets what was produced so far compactly (the opening frames, the content as one
    /// event), then the live frames, then the end; one that attaches after the end gets the replay and the end.
    @Test func lateWatchersGetTheReplayThenTheLiveRest() async throws {
        let job = GenerationJob(sessionId: 1, userId: 1, userMessageId: 7, clientMessageId: nil)
        job.emit(SSEFrame.start(messageId: 7), as: .opening)
        job.emit(batch: [(SSEFrame.content("a"), .content("a")), (SSEFrame.content("b"), .content("b"))])
        let watcher = try #require(job.watch())
        let replay = String(buffer: try #require(await watcher.next()))
        let events = SSEBody(replay)
        #expect(events.types == ["start", "content"])
        #expect(events.first("start")?["messageId"]?.int == 7)
        #expect(events.content == "ab")
        job.emit(SSEFrame.content("c"), as: .content("c"))
        #expect(String(buffer: try #require(await watcher.next())) == #"data: {"type":"content","content":"c"}"# + "\n\n")
        job.finish()
        #expect(await watcher.next() == nil)

        let late = try #require(job.watch())
        #expect(String(buffer: try #require(await late.next())).hasSuffix(#"data: {"type":"content","content":"abc"}"# + "\n\n"))
        #expect(await late.next() == nil)
    }
}
