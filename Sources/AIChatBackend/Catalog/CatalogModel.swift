import AIChatCore

/// The capabilities a model is known to have; every key is present, true or false.
public struct ModelCapabilities: Codable, Sendable, Equatable {
    public var vision: Bool
    public var file_upload: Bool
    public var web_search: Bool
    public var image_generation: Bool
    public var code_interpreter: Bool

    public static let keys = ["vision", "file_upload", "web_search", "image_generation", "code_interpreter"]

    /// Raw-id fragments of model families that accept images.
    static let visionHints = [
        "gpt-4o", "gpt-4.1", "gpt-5", "gpt4o", "o3", "o4", "omni", "vision", "vl", "phi-3", "phi-3.5", "phi-4", "minicpm", "qwen-vl", "qwen2-vl",
        "qwen2.5-vl", "llava", "llama-3.2", "llama3.2", "llama-vision", "llama3-vision", "llama4", "moondream", "bakllava", "pixtral",
        "deepseek-vl", "kling-v", "grok-vision", "claude-3", "claude-sonnet-4", "claude-opus-4", "claude-haiku-4", "gemini", "gemma3",
    ]

    /// From tags (`vision`, `file_upload`/`file`, `web_search`, `image_generation`, `code_interpreter`) and, for
    /// vision only, the model id.
    public static func derive(rawId: String, tags: [String]) -> ModelCapabilities {
        let names = Set(tags.map { $0.lowercased() })
        let id = rawId.lowercased()
        return ModelCapabilities(
            vision: names.contains("vision") || Self.visionHints.contains { id.contains($0) },
            file_upload: names.contains("file_upload") || names.contains("file"),
            web_search: names.contains("web_search"),
            image_generation: names.contains("image_generation"),
            code_interpreter: names.contains("code_interpreter")
        )
    }

    /// Applies explicit true/false values (keys absent from `overrides` keep their derived value).
    public func applying(_ overrides: [String: Bool]) -> ModelCapabilities {
        var result = self
        for (key, value) in overrides {
            switch key {
                case "vision": result.vision = value
                case "file_upload": result.file_upload = value
                case "web_search": result.web_search = value
                case "image_generation": result.image_generation = value
                case "code_interpreter": result.code_interpreter = value
                default: continue
            }
        }
        return result
    }
}

/// One entry of the aggregated model list.
public struct CatalogModel: Encodable, Sendable, Equatable {
    public let id: String
    public let rawId: String
    public let name: String
    public let provider: String
    public let connectionType: ConnectionType
    public let tags: [ConnectionDTO.TagDTO]
    public let capabilities: ModelCapabilities
    public let connectionId: Int
    /// True when an administrator changed this model's tags or capabilities.
    public let overridden: Bool
    /// True for a model of the caller's own (personal) connection.
    public let personal: Bool
}

/// A model as a provider listed it.
public struct ListedModel: Codable, Sendable, Equatable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// An administrator's change to one model: tags replacing the connection's, and/or explicit capabilities.
public struct ModelOverride: Codable, Sendable, Equatable {
    public var connectionId: Int
    public var rawId: String
    public var tags: [String]?
    public var capabilities: [String: Bool]?
}
