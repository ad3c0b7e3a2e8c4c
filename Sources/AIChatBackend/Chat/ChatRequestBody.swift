import AIChatCore
import Foundation

/// The body of `POST /api/chat/stream` and `/completion` (the original's fields), validated.
struct ChatRequestBody: Sendable {
    var sessionId: Int
    var content: String
    var images: [StoredImage]
    var reasoningEnabled: Bool?
    var reasoningEffort: ReasoningEffort?
    var ollamaThink: Bool?
    var saveReasoning: Bool?
    var clientMessageId: String?

    static let maxContentLength = 100_000
    static let maxImages = 4
    static let maxImageBytes = 5 * 1024 * 1024
    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"]

    init(_ body: JSONObject) throws {
        self.sessionId = try body.integer("sessionId", in: 1...Int.max)
        self.content = try body.string("content", maxLength: Self.maxContentLength)
        self.images = try Self.images(body.raw("images"))
        if self.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, self.images.isEmpty {
            throw APIError.invalidField("content", "must not be empty")
        }
        self.reasoningEnabled = try body.optionalBool("reasoningEnabled")
        self.reasoningEffort = body.raw("reasoningEffort") == .string("") ? nil : try body.optionalChoice("reasoningEffort", as: ReasoningEffort.self)
        self.ollamaThink = try body.optionalBool("ollamaThink")
        self.saveReasoning = try body.optionalBool("saveReasoning")
        self.clientMessageId = try body.optionalString("clientMessageId", minLength: 1, maxLength: 128, trim: true)
        if self.clientMessageId?.isEmpty == true { self.clientMessageId = nil }
    }

    /// At most four images of a known type, each valid Base64 of at most 5 MB, without a `data:` prefix.
    static func images(_ raw: JSONValue?) throws -> [StoredImage] {
        guard let raw, raw != .null else { return [] }
        guard case .array(let items) = raw else { throw APIError.invalidField("images", "must be an array") }
        guard items.count <= Self.maxImages else { throw APIError.invalidField("images", "may hold at most \(Self.maxImages) images") }
        var images: [StoredImage] = []
        for item in items {
            guard case .object(let fields) = item, case .string(var data)? = fields["data"], case .string(let mime)? = fields["mime"] else {
                throw APIError.invalidField("images", "items must be {\"data\": base64, \"mime\": type}")
            }
            let type = mime.lowercased().trimmingCharacters(in: .whitespaces)
            guard Self.imageTypes.contains(type) else {
                throw APIError.invalidField("images", "type \(mime.prefix(40)) is not supported (png, jpeg, webp, gif)")
            }
            if data.hasPrefix("data:"), let comma = data.firstIndex(of: ",") { data = String(data[data.index(after: comma)...]) }
            guard !data.isEmpty, data.count <= (Self.maxImageBytes / 3 + 1) * 4 + 4 else {
                throw APIError.invalidField("images", "each image must be at most 5 MB")
            }
            guard let decoded = Data(base64Encoded: data), !decoded.isEmpty else {
                throw APIError.invalidField("images", "data must be Base64")
            }
            guard decoded.count <= Self.maxImageBytes else { throw APIError.invalidField("images", "each image must be at most 5 MB") }
            images.append(StoredImage(mime: type == "image/jpg" ? "image/jpeg" : type, data: data))
        }
        return images
    }
}
