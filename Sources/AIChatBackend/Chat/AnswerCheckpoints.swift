import AIChatCore
import Logging

/// Writes the partial text of every streaming answer to the database once a second, in one transaction for all of
/// them, so that a server that dies mid-answer (SIGKILL, power loss) loses at most a second of it. The first
/// checkpoint of an answer inserts its row with the status `streaming`; the final save turns that row into the answer
/// (``AnswerPersistence``). At start, rows still `streaming` are marked `interrupted` (``recover()``).
///
/// Checkpoints and final saves take turns (one permit), so an answer is never inserted twice.
final class AnswerCheckpoints: Sendable {
    let messages: any MessageRepository
    let logger: Logger
    private let turn = AsyncSemaphore(permits: 1)

    init(messages: any MessageRepository, logger: Logger) {
        self.messages = messages
        self.logger = logger
    }

    /// Writes what grew since the last checkpoint of each of `jobs`.
    func write(_ jobs: [GenerationJob]) async {
        await self.turn.acquire()
        defer { self.turn.release() }
        let due = jobs.compactMap { job in job.checkpointDue().map { (job, $0) } }
        guard !due.isEmpty else { return }
        do {
            let ids = try await self.messages.checkpoint(due.map(\.1))
            for ((job, _), id) in zip(due, ids) { job.checkpointed(id: id) }
        } catch {
            self.logger.warning("could not write the partial text of \(due.count) streaming answers: \(error)")
        }
    }

    /// Runs `save` with the answer's checkpoint row (nil when none was written); no checkpoint of it follows.
    func finalize<T: Sendable>(_ job: GenerationJob, _ save: (Int?) async throws -> T) async throws -> T {
        await self.turn.acquire()
        defer { self.turn.release() }
        return try await save(job.beginSaving())
    }

    /// Marks answers a previous run left streaming as interrupted; they keep their partial text.
    func recover() async throws {
        let count = try await self.messages.markInterrupted()
        if count > 0 { self.logger.notice("\(count) answers were cut off when the server last stopped; marked as interrupted") }
    }
}
