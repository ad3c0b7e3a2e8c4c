import AIChatCore
import HTTPTypes
import Hummingbird

/// The body limit of a group of routes, applied before any of the body is read: a declared `Content-Length` above
/// `limit` is answered 413 at once, and a body found too large while reading (chunked) stops being collected there.
/// What the client still sends is read and dropped by the server (in small pieces, never held), as HTTP/1.1 needs to
/// find the next request; closing at once instead would reset the connection under the client's feet before it
/// read the 413.
///
/// Handlers read bodies only after routing and, on signed-in routes, after ``RequireUserMiddleware`` has checked the
/// caller, so an anonymous client cannot make the server hold more than a small route's limit per connection.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// Auth, settings, sessions, connections, users and the other small JSON routes.
    static let smallJSON = 64 << 10

    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > self.limit {
            return self.refuse(context)
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return self.refuse(context)
        } catch let error as APIError where error.status == .contentTooLarge {
            return self.refuse(context)
        }
    }

    private func refuse(_ context: Context) -> Response {
        APIError(.contentTooLarge, "Request body too large").response()
    }
}
