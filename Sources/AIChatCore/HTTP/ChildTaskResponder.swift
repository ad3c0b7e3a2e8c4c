import Hummingbird
import Logging
import NIOCore

/// Runs each request's responder (middleware, routing, handler) in a child task of the connection's task.
///
/// An async task keeps the memory its deepest call chain needed until the task ends. A connection task lives as
/// long as its connection, and for a streaming answer that is the whole answer, so without this every open stream
/// would keep the frames of authentication, database reads and JSON parsing it went through before its first
/// byte. The child task ends when the handler returns its response; the body is then written from the shallow
/// connection task. Cancellation of the connection task reaches the child through the task group.
public struct ChildTaskResponder<Base: HTTPResponder>: HTTPResponder where Base.Context: Sendable {
    public typealias Context = Base.Context

    let base: Base

    public init(_ base: Base) {
        self.base = base
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        try await self.respond(to: request) { context }
    }

    /// The child task; the context is made in the child, so its memory goes with the child too.
    @inline(never)
    func respond(to request: Request, context: @escaping @Sendable () -> Context) async throws -> Response {
        try await runInChildTask { try await self.base.respond(to: request, context: context()) }
    }
}

/// Lets requests that ``RequestAdmission`` covers wait for a permit before the base responder runs, so a burst of
/// them queues holding only its connection instead of a full middleware and handler chain each.
public struct AdmissionResponder<Base: HTTPResponder>: HTTPResponder {
    public typealias Context = Base.Context

    let base: Base
    let admission: RequestAdmission

    public init(_ base: Base, admission: RequestAdmission) {
        self.base = base
        self.admission = admission
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard self.admission.covers(request) else { return try await self.base.respond(to: request, context: context) }
        await self.admission.permits.acquire()
        defer { self.admission.permits.release() }
        return try await self.base.respond(to: request, context: context)
    }
}

extension ChildTaskResponder where Context: RequestContext, Context.Source == ApplicationRequestContextSource {
    /// The response to `request` on `channel`, with the server's headers; what the server's connection task runs.
    func serve(_ request: Request, channel: any Channel, logger: Logger, serverName: String?) async throws -> Response {
        let response = try await self.respond(to: request) {
            var requestLogger = logger
            requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            return Context(source: ApplicationRequestContextSource(channel: channel, logger: requestLogger))
        }
        return Self.stamped(response, serverName: serverName)
    }

    /// `response` with the `Date` and `Server` headers (out of line: the caller's frame lives as long as the connection).
    @inline(never)
    static func stamped(_ response: Response, serverName: String?) -> Response {
        var response = response
        response.headers[.date] = HTTPDate.now()
        if let serverName { response.headers[.server] = serverName }
        return response
    }
}

/// Which requests take turns, and how many of them are handled at once.
///
/// Meant for requests that arrive in bursts and whose handling is short and bounded (database work, no remote
/// calls): each one handled needs a call chain of some 20 KB while it waits for the database, so two thousand
/// messages sent at once would otherwise hold some 40 MB of task memory that stays with the process. Waiting for a
/// permit costs only the connection's own task; a request holding one that takes long would delay the others, so
/// requests that wait for remote servers must not be covered.
public struct RequestAdmission: Sendable {
    let permits: AsyncSemaphore
    private let routes: [String: Set<String>]

    /// `routes` are (method, path) pairs, matched exactly (the query is not part of the path).
    public init(permits: Int, routes: [(HTTPRequest.Method, String)]) {
        self.permits = AsyncSemaphore(permits: permits)
        self.routes = Dictionary(grouping: routes, by: { $0.1 }).mapValues { Set($0.map { $0.0.rawValue }) }
    }

    /// Whether `request` waits for a permit.
    public func covers(_ request: Request) -> Bool {
        self.routes[request.uri.path]?.contains(request.method.rawValue) == true
    }
}

/// Runs `work` in a child task, so that the stack memory its call chain needs is released when it returns instead of
/// staying with the (longer-lived) calling task.
public func runInChildTask<Value: Sendable>(_ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
    try await withThrowingTaskGroup(of: Value.self) { group in
        group.addTask(operation: work)
        guard let value = try await group.next() else { throw CancellationError() }
        return value
    }
}
