import AIChatCore
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The SSE response that carries a ``GenerationJob`` to one client.
///
/// Closing the connection ends only this watcher (the job keeps generating and is saved); the response ends
/// when the job has finished and persisted its answer.
enum ChatStreamResponse {
    static var headers: HTTPFields {
        [
            .contentType: "text/event-stream; charset=utf-8",
            .cacheControl: "no-cache, no-transform",
            HTTPField.Name("X-Accel-Buffering")!: "no",
            .connection: "keep-alive",
        ]
    }

    /// The server writes the frames from the connection's event loop (`eventLoop`) as the job hands them over
    /// (``FramePush``) when it can; otherwise a task writes them, on that loop, and `registry` is asked to wind
    /// down running answers when the server begins a graceful shutdown.
    static func make(job: GenerationJob, registry: GenerationRegistry, eventLoop: any EventLoop) throws -> Response {
        guard let watcher = job.watch() else {
            throw APIError(.tooManyRequests, "This answer is open in too many places at once; close one and try again")
        }
        if let slot = PushedBodySlot.current {
            slot.offer(FramePush(watcher: watcher, eventLoop: eventLoop))
        }
        return Response(
            status: .ok,
            headers: Self.headers,
            body: ResponseBody { writer in
                // A client that went away is noticed by the next write (frames or keep-alive pings arrive at
                // least every heartbeat interval); that write fails and ends this watcher only. No task watches
                // the inbound side: thousands of open streams would each pay for it.
                defer { watcher.end() }
                try await withGracefulShutdownHandler {
                    try await withTaskExecutorPreference(EventLoopTaskExecutor.on(eventLoop)) {
                        while let frames = await watcher.next(), !Task.isCancelled {
                            try await writer.write(frames)
                        }
                    }
                } onGracefulShutdown: {
                    Task { await registry.drain(grace: .seconds(20)) }
                }
                try await writer.finish(nil)
            }
        )
    }

    /// A finished answer replayed in the stream format (for a repeated request with the same `clientMessageId`).
    static func replay(_ frames: [ByteBuffer]) -> Response {
        Response(
            status: .ok,
            headers: Self.headers,
            body: ResponseBody { writer in
                for frame in frames { try await writer.write(frame) }
                try await writer.finish(nil)
            }
        )
    }
}

/// One watcher's frames written by the server from the connection's event loop: a frame the job hands over on that
/// loop goes out at once, one from elsewhere (keep-alive pings, the end) after a hop to the loop. What arrives while
/// the client is not reading fast enough waits in the watcher's queue, as one buffer.
final class FramePush: PushedResponseBody, FrameConsumer, @unchecked Sendable {
    private let watcher: GenerationJob.Watcher
    private let eventLoop: any EventLoop
    /// Used on the event loop only; nil before the start and after the end.
    private var output: PushedBodyOutput?

    init(watcher: GenerationJob.Watcher, eventLoop: any EventLoop) {
        self.watcher = watcher
        self.eventLoop = eventLoop
    }

    func start(_ output: PushedBodyOutput) {
        self.output = output
        self.drain()
    }

    func resumeWriting() {
        self.drain()
    }

    func connectionClosed() {
        self.output = nil
        self.watcher.queue.forgetConsumer()
        self.watcher.end()
    }

    func framesArrived() {
        if self.eventLoop.inEventLoop {
            self.drain()
        } else {
            self.eventLoop.execute { self.drain() }
        }
    }

    private func drain() {
        guard let output = self.output else { return }
        while output.isWritable {
            switch self.watcher.queue.take(orTell: self) {
            case .frames(let frames):
                output.write(frames)
            case .end:
                self.output = nil
                self.watcher.end()
                output.finish()
                return
            case .later:
                return
            }
        }
    }
}
