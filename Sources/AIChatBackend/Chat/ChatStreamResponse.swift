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

    /// The job's frames as they come; `registry` is asked to wind running answers down when the server begins a
    /// graceful shutdown (which waits for this response to end).
    static func make(job: GenerationJob, registry: GenerationRegistry) throws -> Response {
        guard let watcher = job.watch() else {
            throw APIError(.tooManyRequests, "This answer is open in too many places at once; close one and try again")
        }
        return Response(
            status: .ok,
            headers: Self.headers,
            body: ResponseBody { writer in
                // A client that went away is noticed by the next write (frames or keep-alive pings arrive at
                // least every heartbeat interval); that write fails and ends this watcher only.
                defer { watcher.end() }
                try await withGracefulShutdownHandler {
                    while let frames = await watcher.next(), !Task.isCancelled {
                        try await writer.write(frames)
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
