import AIChatCore
import Foundation
import NIOCore

/// Server-sent event frames of the chat stream: `data: <compact JSON>\n\n`, and `: ping` comments.
enum SSEFrame {
    static let ping = ByteBuffer(string: ": ping\n\n")

    static func event(_ fields: [String: JSONValue]) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        JSONValue.object(fields).write(into: &buffer)
        buffer.writeString("\n\n")
        return buffer
    }

    static func start(messageId: Int, assistantMessageId: Int? = nil) -> ByteBuffer {
        var fields: [String: JSONValue] = ["type": .string("start"), "messageId": .number(Double(messageId))]
        if let assistantMessageId { fields["assistantMessageId"] = .number(Double(assistantMessageId)) }
        return Self.event(fields)
    }

    static func content(_ text: String) -> ByteBuffer { Self.delta(type: "content", text) }
    static func reasoning(_ text: String) -> ByteBuffer { Self.delta(type: "reasoning", text) }

    /// `data: {"type":"<type>","content":"<text>"}` written directly: deltas are the hot path of every answer.
    static func delta(type: String, _ text: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.utf8.count + 48)
        Self.writeDelta(type: type, text, into: &buffer)
        return buffer
    }

    static func writeDelta(type: String, _ text: String, into buffer: inout ByteBuffer) {
        buffer.writeString("data: {\"type\":\"")
        buffer.writeString(type)
        buffer.writeString("\",\"content\":\"")
        Self.writeEscaped(text, into: &buffer)
        buffer.writeString("\"}\n\n")
    }

    static func writeEscaped(_ text: String, into buffer: inout ByteBuffer) {
        JSONValue.writeEscaped(text, into: &buffer)
    }

    static func reasoningDone(duration: Int) -> ByteBuffer {
        Self.event(["type": .string("reasoning"), "done": .bool(true), "duration": .number(Double(duration))])
    }
    static func stop(reason: String) -> ByteBuffer { Self.event(["type": .string("stop"), "reason": .string(reason)]) }
    static let end = Self.event(["type": .string("end")])
    static let complete = Self.event(["type": .string("complete")])
    static func error(_ message: String) -> ByteBuffer { Self.event(["type": .string("error"), "error": .string(message)]) }

    static func usage(_ usage: UsageFigures) -> ByteBuffer {
        Self.event(["type": .string("usage"), "usage": usage.json])
    }
}

/// Token figures as the stream and the usage endpoints report them.
struct UsageFigures: Sendable, Equatable {
    var promptTokens: Int
    var completionTokens: Int?
    var totalTokens: Int
    var contextLimit: Int?
    var contextRemaining: Int?

    var json: JSONValue {
        var fields: [String: JSONValue] = ["prompt_tokens": .number(Double(self.promptTokens)), "total_tokens": .number(Double(self.totalTokens))]
        if let completion = self.completionTokens { fields["completion_tokens"] = .number(Double(completion)) }
        if let limit = self.contextLimit { fields["context_limit"] = .number(Double(limit)) }
        if let remaining = self.contextRemaining { fields["context_remaining"] = .number(Double(remaining)) }
        return .object(fields)
    }
}
