import Hummingbird

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
        try await runInChildTask { try await self.base.respond(to: request, context: context) }
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
