import HTTPTypes
import Hummingbird
import Logging

/// Turns every error a handler throws into the API envelope.
///
/// Known errors keep their status and message; anything else is logged with the request and answered with a
/// generic 500, so internal messages never reach a client.
public struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            if error.status.code >= 500 {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(error.message)")
            }
            return error.response()
        } catch let error as HTTPError {
            return Self.map(status: error.status, message: error.body, headers: error.headers, request: request).response()
        } catch let error as any HTTPResponseError {
            return Self.map(status: error.status, message: nil, headers: [:], request: request).response()
        } catch let error as ConfigurationError {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return APIError(.internalServerError, "Internal server error").response()
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(String(reflecting: error))")
            return APIError(.internalServerError, "Internal server error").response()
        }
    }

    static func map(status: HTTPResponse.Status, message: String?, headers: HTTPFields, request: Request) -> APIError {
        switch status {
            case .notFound:
                return APIError(.notFound, "Route \(request.method.rawValue) \(request.uri.path) not found")
            case .contentTooLarge:
                return APIError(.contentTooLarge, "Request body too large")
            default:
                let text = message ?? status.reasonPhrase
                return APIError(status, text.isEmpty ? "Request failed" : text, headers: headers)
        }
    }
}
