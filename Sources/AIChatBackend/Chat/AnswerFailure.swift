import AIChatCore
import Logging

/// What a failed answer tells its user, and whether it is asked for once more without streaming.
enum AnswerFailure {
    /// The ending of an answer that broke off with `error`.
    static func ending(after error: any Error, job: GenerationJob, sessionId: Int, logger: Logger) -> AnswerPersistence.Ending {
        if job.stopRequested { return .init(status: .stopped) }
        if let interruption = job.interruption {
            return .init(
                status: .error,
                errorMessage: interruption == .idle ? "The AI provider stopped sending data" : "The answer took longer than the time limit"
            )
        }
        let reason: String
        switch error {
            case let failure as ProviderFailure: reason = failure.publicMessage
            case let failure as ProviderError: reason = failure.publicMessage
            case let apiError as APIError: reason = apiError.message
            case is CancellationError: return .init(status: .stopped)
            default:
                logger.error("generation in session \(sessionId) failed: \(String(reflecting: error))")
                reason = "The answer could not be generated"
        }
        return .init(status: .error, errorMessage: reason)
    }

    /// Whether a failed streamed answer is asked for once more without streaming (for servers that cannot stream,
    /// or whose stream could not be read): the provider did answer (a status, or a body we could not decode), nothing
    /// visible was produced yet, the user did not stop it, the server's clocks did not cut it off, and the provider
    /// did not refuse the caller (key, permission, rate limit), which a second request would not change. A request
    /// that got no answer at all is not sent again: it may have reached the model.
    static func mayRetryWithoutStreaming(after error: any Error, job: GenerationJob, answer: AnswerAccumulator) -> Bool {
        guard !answer.showsText, !job.stopRequested, job.interruption == nil else { return false }
        switch error {
            case let failure as ProviderFailure:
                guard let status = failure.status else { return false }
                return ![401, 403, 429].contains(status)
            case let failure as ProviderError:
                if case .upstream(let status, _) = failure, let status, [401, 403, 429].contains(status) { return false }
                return true
            default: return false
        }
    }
}
