import Hummingbird

/// Outside `/api`, answers an unknown path with the not-found page instead of the JSON envelope.
struct PageErrorMiddleware: RouterMiddleware {
    let environment: PageEnvironment

    func handle(
        _ request: Request, context: FrontendRequestContext, next: (Request, FrontendRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && !request.uri.path.hasPrefix("/api/") {
            return self.environment.notFound(request)
        }
    }
}
