import AIChatCore
import Logging
import NIOCore

/// Saves what an answer produced (also when stopped, cut off or failed), records its usage, sends the closing
/// events and ends every watcher's stream — in that order, so a client that reloads after the stream closed finds
/// the answer.
struct AnswerPersistence: Sendable {
    let messages: any MessageRepository
    /// The answer's checkpoint row, if any, becomes the saved answer (or is removed when nothing is kept).
    let checkpoints: AnswerCheckpoints
    let logger: Logger

    /// How an answer ended.
    struct Ending {
        /// nil: complete.
        var status: MessageStatus?
        /// Shown to the user (and kept on the job) when the answer failed.
        var errorMessage: String?
    }

    func save(
        _ plan: GenerationPlan, job: GenerationJob, answer: AnswerAccumulator, ending: Ending, settings: SystemSettings?, budget: PromptBudgetFigures
    ) async {
        var frames: [ByteBuffer] = []
        // A provider may send U+0000, which PostgreSQL cannot store.
        let content = answer.content.withoutNulCharacters.trimmingCharacters(in: .whitespacesAndNewlines)
        let reasoning = answer.reasoning.withoutNulCharacters.trimmingCharacters(in: .whitespacesAndNewlines)
        let reasoningShown = settings?.bool(.reasoningEnabled) ?? true
        if !reasoning.isEmpty, reasoningShown {
            frames.append(SSEFrame.reasoningDone(duration: answer.reasoningDuration))
        }
        let saveReasoning = reasoningShown && (plan.saveReasoning ?? settings?.bool(.reasoningSaveToDb) ?? true) && !reasoning.isEmpty
        let keep = !job.isDiscarded
        var answerRow: NewAnswer?
        if keep, !content.isEmpty || saveReasoning {
            answerRow = NewAnswer(
                sessionId: plan.session.id, parentId: plan.userMessage.id, content: content, reasoning: saveReasoning ? reasoning : nil,
                reasoningDurationSeconds: saveReasoning ? answer.reasoningDuration : nil, status: ending.status, model: plan.session.modelRawId
            )
        }
        var usageRow: NewUsage?
        if keep, let settings, settings.bool(.usageEmit), answerRow != nil || ending.status == nil {
            let completion = TokenEstimator.count(answer.content)
            let provider = answer.providerUsage
            let figures = UsageFigures(
                promptTokens: provider?.prompt ?? budget.promptTokens,
                completionTokens: provider?.completion ?? completion,
                totalTokens: provider?.total ?? budget.promptTokens + completion,
                contextLimit: budget.limit,
                contextRemaining: max(0, budget.limit - budget.promptTokens)
            )
            if !settings.bool(.usageProviderOnly) || provider == nil {
                frames.append(SSEFrame.usage(figures))
            }
            usageRow = NewUsage(
                sessionId: plan.session.id, messageId: nil, model: plan.session.modelRawId ?? "unknown", provider: plan.connection.host,
                promptTokens: figures.promptTokens, completionTokens: figures.completionTokens ?? 0, totalTokens: figures.totalTokens,
                contextLimit: budget.limit
            )
        }
        // The answer and its usage row in one transaction: one commit per answer.
        var saved: ChatMessageRecord?
        do {
            saved = try await self.checkpoints.finalize(job) { checkpoint in
                try await self.messages.saveAnswer(answerRow, usage: usageRow, replacing: keep ? checkpoint : nil)
            }
        } catch {
            self.logger.error("could not save the answer in session \(plan.session.id): \(error)")
        }
        if let errorMessage = ending.errorMessage {
            job.errorMessage = errorMessage
            frames.append(SSEFrame.error(errorMessage))
        } else {
            var fields: [String: JSONValue] = ["type": .string("complete")]
            if let saved { fields["assistantMessageId"] = .number(Double(saved.id)) }
            frames.append(SSEFrame.event(fields))
        }
        for frame in frames { job.emit(frame, as: .other) }
        job.finish()
    }
}

/// The prompt's estimated size and the budget it was cut to.
struct PromptBudgetFigures: Sendable {
    var promptTokens = 0
    var limit = 0
}
