import AIChatCore
import Foundation
import NIOCore

/// Server-sent event frames of the chat stream: `data: <compact JSON>\n\n`, and `: ping` comments.
enum SSEFrame {
    static let ping = ByteBuffer(string: ": ping\n\n")

    static func event(_ fields: [String: JSONValue]) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(Self.encode(.object(fields)))
        buffer.writeString("\n\n")
        return buffer
    }

    static func encode(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func start(messageId: Int, assistantMessageId: Int? = nil) -> ByteBuffer {
        var fields: [String: JSONValue] = ["type": .string("start"), "messageId": .number(Double(messageId))]
        if let assistantMessageId { fields["assistantMessageId"] = .number(Double(assistantMessageId)) }
        return Self.event(fields)
    }

    static func content(_ text: String) -> ByteBuffer { Self.event(["type": .string("content"), "content": .string(text)]) }
    static func reasoning(_ text: String) -> ByteBuffer { Self.event(["type": .string("reasoning"), "content": .string(text)]) }
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
