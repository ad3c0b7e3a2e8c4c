import NIOCore
import Synchronization
import Testing

@testable import AIChatBackend

/// Counts how often a queue told it that frames arrived.
final class CountingConsumer: FrameConsumer {
    let told = Mutex(0)
    func framesArrived() { self.told.withLock { $0 += 1 } }
}

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

    /// A consumer (the server pushing frames from the event loop) is told once when frames or the end arrive,
    /// takes them as one buffer, and is told nothing after it forgot to ask.
    @Test func consumersAreToldOnce() {
        let queue = FrameQueue()
        let consumer = CountingConsumer()
        guard case .later = queue.take(orTell: consumer) else { Issue.record("nothing was there"); return }
        queue.push(ByteBuffer(string: "a"))
        queue.push(ByteBuffer(string: "b"))
        #expect(consumer.told.withLock { $0 } == 1)
        guard case .frames(let frames) = queue.take(orTell: consumer) else { Issue.record("frames were there"); return }
        #expect(frames == ByteBuffer(string: "ab"))
        guard case .later = queue.take(orTell: consumer) else { Issue.record("nothing was there"); return }
        queue.forgetConsumer()
        queue.push(ByteBuffer(string: "c"))
        #expect(consumer.told.withLock { $0 } == 1)
        guard case .frames(let later) = queue.take(orTell: consumer) else { Issue.record("c was there"); return }
        #expect(later == ByteBuffer(string: "c"))
        guard case .later = queue.take(orTell: consumer) else { Issue.record("nothing was there"); return }
        queue.finish()
        #expect(consumer.told.withLock { $0 } == 2, "the end is told too")
        guard case .end = queue.take(orTell: consumer) else { Issue.record("the end was there"); return }
    }
}

extension FrameQueueTests {
    /// Frames added quietly (in order under the job's lock) reach the watcher only with the wake that follows.
    @Test func quietlyAddedFramesWaitForTheWake() async throws {
        let queue = FrameQueue()
        let consumer = CountingConsumer()
        guard case .later = queue.take(orTell: consumer) else { Issue.record("nothing was there"); return }
        queue.add(ByteBuffer(string: "a"))
        queue.add(ByteBuffer(string: "b"))
        #expect(consumer.told.withLock { $0 } == 0)
        queue.wake()
        #expect(consumer.told.withLock { $0 } == 1)
        guard case .frames(let frames) = queue.take(orTell: consumer) else { Issue.record("frames were there"); return }
        #expect(frames == ByteBuffer(string: "ab"))

        let other = FrameQueue()
        let waiting = Task { await other.next() }
        try await Task.sleep(for: .milliseconds(50))
        other.add(ByteBuffer(string: "c"))
        other.wake()
        #expect(await waiting.value == ByteBuffer(string: "c"))
    }
}

struct GenerationJobTests {
    static func text(_ queue: FrameQueue) -> String {
        guard case .frames(let frames) = queue.take(orTell: Ignored()) else { return "" }
        return String(buffer: frames)
    }

    final class Ignored: FrameConsumer {
        func framesArrived() {}
    }

    /// An answer that began before its question was stored keeps its frames from watchers until the question is
    /// stored; they then get the `start` frame with the message's id first, and the rest in order.
    @Test func anAnswerBegunBeforeItsQuestionIsStoredWaitsForIt() async throws {
        let job = GenerationJob(sessionId: 1, userId: 1, userMessageId: 0, clientMessageId: nil)
        let early = try #require(job.watch())
        job.emit(batch: [(SSEFrame.usage(UsageFigures(promptTokens: 3, totalTokens: 3, contextLimit: 10, contextRemaining: 7)), .opening)])
        job.emit(SSEFrame.content("Hel"), as: .content("Hel"))
        job.broadcast(SSEFrame.ping)
        #expect(Self.text(early.queue).isEmpty)
        let stored = Task { await job.storedMessageId() }

        job.publish(userMessageId: 42)
        #expect(await stored.value == 42)
        #expect(job.userMessageId == 42)
        let seen = Self.text(early.queue)
        let start = seen.range(of: #""type":"start""#)
        let usage = seen.range(of: #""type":"usage""#)
        let content = seen.range(of: "Hel")
        #expect(seen.hasPrefix("data: ") && seen.contains(#""messageId":42"#))
        #expect(start != nil && usage != nil && content != nil)
        if let start, let usage, let content { #expect(start.lowerBound < usage.lowerBound && usage.lowerBound < content.lowerBound) }
        #expect(!seen.contains("ping"), "keep-alives are not kept for later")

        job.emit(SSEFrame.content("lo"), as: .content("lo"))
        #expect(Self.text(early.queue).contains("lo"))
        let late = try #require(job.watch())
        let replay = Self.text(late.queue)
        #expect(replay.hasPrefix("data: ") && replay.contains(#""messageId":42"#) && replay.contains("Hello"))
    }

    /// Discarded before its question was stored (the insert failed), the answer has no message to be saved under.
    @Test func aDiscardedAnswerHasNoQuestion() async {
        let job = GenerationJob(sessionId: 1, userId: 1, userMessageId: 0, clientMessageId: nil)
        let stored = Task { await job.storedMessageId() }
        job.discard()
        #expect(await stored.value == nil)
        #expect(await job.storedMessageId() == nil)
        let published = GenerationJob(sessionId: 2, userId: 1, userMessageId: 7, clientMessageId: nil)
        #expect(await published.storedMessageId() == 7)
    }
}
