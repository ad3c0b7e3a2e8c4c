/// The reasoning-tag extractor configured from the system settings.
typealias ReasoningSplitter = ReasoningTagExtractor

extension ReasoningTagExtractor {
    /// Tags are extracted only while reasoning display is on (`reasoning_enabled`) and the mode is not `off`;
    /// otherwise answer text passes through unchanged.
    init(settings: SystemSettings) {
        if settings.bool(.reasoningEnabled) {
            self.init(mode: settings.string(.reasoningTagsMode), customTags: settings.string(.reasoningCustomTags))
        } else {
            self = .passThrough
        }
    }
}
