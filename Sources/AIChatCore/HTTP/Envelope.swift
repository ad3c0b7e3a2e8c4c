import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// A successful API envelope: `{"success":true,"data":…,"message":…}`; absent parts are omitted.
public struct Envelope<Payload: Encodable & Sendable>: ResponseGenerator, Sendable {
    public var status: HTTPResponse.Status
    public var data: Payload?
    public var message: String?

    public init(_ data: Payload, message: String? = nil, status: HTTPResponse.Status = .ok) {
        self.data = data
        self.message = message
        self.status = status
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status: self.status, Body(data: self.data, message: self.message))
    }

    private struct Body: Encodable {
        let success = true
        let data: Payload?
        let message: String?
    }
}

/// An envelope that carries only a message.
public struct MessageEnvelope: ResponseGenerator, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status: .ok, Body(message: self.message))
    }

    private struct Body: Encodable {
        let success = true
        let message: String
    }
}

/// Serialises values to JSON responses.
public enum JSONResponse {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    public static func encode(_ value: some Encodable) -> ByteBuffer {
        do {
            return ByteBuffer(data: try self.encoder.encode(value))
        } catch {
            return ByteBuffer(string: #"{"success":false,"error":"Internal server error"}"#)
        }
    }

    public static func make(status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let buffer = self.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(buffer.readableBytes)],
            body: ResponseBody(byteBuffer: buffer)
        )
    }
}
