import AIChatCore
import Foundation
import Hummingbird

/// `/api/settings`: system settings (admin), the public subset, personal settings, app info and health.
struct SettingsController {
    let settings: SystemSettingsService
    let repository: any SettingsRepository
    let users: any UserRepository
    let database: any AppDatabase
    let authenticator: Authenticator
    let appMode: AppMode
    let bodyLimit: Int

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("health", use: self.health)
        // Uptime monitors often probe with HEAD: the same check, the status without the body.
        group.head("health") { request, context in
            Response(status: try await self.health(request, context: context).status)
        }
        group.get("app-info", use: self.appInfo)
        group.get("public", use: self.publicSettings)
        let signedIn = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator))
        signedIn.get("personal", use: self.personal)
        signedIn.put("personal", use: self.updatePersonal)
        let admin = group.group().add(middleware: RequireUserMiddleware(authenticator: self.authenticator, adminOnly: true))
        admin.get("system", use: self.system)
        admin.put("system", use: self.updateSystem)
    }

    @Sendable func system(_ request: Request, context: AppRequestContext) async throws -> Envelope<[String: JSONValue]> {
        Envelope(try await self.settings.current().adminView)
    }

    /// Validates every known key first and writes nothing when one is invalid; `null` or `""` clears a key.
    @Sendable func updateSystem(_ request: Request, context: AppRequestContext) async throws -> Envelope<[String: JSONValue]> {
        var request = request
        let body = try await request.jsonObject(limit: self.bodyLimit)
        var changes: [String: String?] = [:]
        for key in SystemSettingKey.allCases {
            guard let value = body.raw(key.rawValue) else { continue }
            changes[key.rawValue] = try key.storedValue(from: value)
        }
        let updated = try await self.settings.update(changes)
        if !changes.isEmpty {
            let adminId = try context.requireUser().id
            context.logger.info("admin \(adminId) changed settings: \(changes.keys.sorted().joined(separator: ", "))")
        }
        return Envelope(updated.adminView, message: "System settings updated successfully")
    }

    /// What every visitor may know: brand, whether registration is open, reasoning display defaults.
    @Sendable func publicSettings(_ request: Request, context: AppRequestContext) async throws -> Envelope<[String: JSONValue]> {
        let current = try await self.settings.current()
        let open: Bool
        if try await self.users.count() == 0 {
            open = true
        } else {
            open = self.appMode == .multi && current.bool(.registrationEnabled)
        }
        return Envelope([
            "brand_text": .string(current.string(.brandText)),
            "registration_open": .bool(open),
            "registration_enabled": .bool(open),
            "app_mode": .string(self.appMode.rawValue),
            "reasoning_enabled": .bool(current.bool(.reasoningEnabled)),
            "reasoning_default_expand": .bool(current.bool(.reasoningDefaultExpand)),
            "openai_reasoning_effort": .string(current.string(.openaiReasoningEffort)),
            "ollama_think": .bool(current.bool(.ollamaThink)),
            "version": .string(AppInfo.version),
        ])
    }

    enum Theme: String, CaseIterable { case light, dark, system }
    enum Language: String, CaseIterable {
        case zhCN = "zh-CN"
        case en
    }

    func personalView(userId: Int) async throws -> [String: JSONValue] {
        let stored = try await self.repository.userSettings(userId: userId)
        let system = try await self.settings.current()
        let override = stored["context_token_limit"].flatMap(Int.init)
        return [
            "context_token_limit": .number(Double(override ?? system.int(.maxContextTokens))),
            "context_token_limit_override": override.map { .number(Double($0)) } ?? .null,
            "theme": .string(stored["theme"] ?? Theme.system.rawValue),
            "language": .string(stored["language"] ?? Language.zhCN.rawValue),
        ]
    }

    @Sendable func personal(_ request: Request, context: AppRequestContext) async throws -> Envelope<[String: JSONValue]> {
        Envelope(try await self.personalView(userId: try context.requireUser().id))
    }

    /// Persists the caller's context limit (null clears the override), theme and language.
    @Sendable func updatePersonal(_ request: Request, context: AppRequestContext) async throws -> Envelope<[String: JSONValue]> {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        var changes: [String: String?] = [:]
        switch try body.presentInteger("context_token_limit", in: 1000...32000) {
            case .absent: break
            case .null: changes["context_token_limit"] = .some(nil)
            case .value(let limit): changes["context_token_limit"] = String(limit)
        }
        if let theme = try body.optionalChoice("theme", as: Theme.self) { changes["theme"] = theme.rawValue }
        if let language = try body.optionalChoice("language", as: Language.self) { changes["language"] = language.rawValue }
        try await self.repository.updateUserSettings(userId: user.id, changes)
        return Envelope(try await self.personalView(userId: user.id), message: "Personal settings updated successfully")
    }

    struct AppInfoPayload: Encodable, Sendable {
        struct Features: Encodable, Sendable {
            let registration: Bool
            let streaming = true
            let file_upload = false
            let long_term_memory = false
        }

        let name = AppInfo.name
        let version = AppInfo.version
        let mode: String
        let features: Features
    }

    @Sendable func appInfo(_ request: Request, context: AppRequestContext) async throws -> Envelope<AppInfoPayload> {
        Envelope(AppInfoPayload(mode: self.appMode.rawValue, features: .init(registration: self.appMode == .multi)))
    }

    struct Health: Encodable, Sendable {
        struct Memory: Encodable, Sendable { let rss: Int }
        let status: String
        let timestamp: Timestamp
        let version: String?
        let database: String?
        let memory: Memory?
        let error: String?
    }

    /// 200 `healthy` after a real query; 503 `unhealthy` when the database does not answer.
    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        do {
            _ = try await self.database.read { sql in try await sql.raw("SELECT 1 AS \"ok\"").first() }
            let health = Health(
                status: "healthy", timestamp: .now(), version: AppInfo.version, database: "connected",
                memory: .init(rss: ProcessMemory.residentBytes()), error: nil
            )
            return JSONResponse.make(status: .ok, SuccessBody(data: health, message: nil))
        } catch {
            context.logger.error("health check failed: \(error)")
            struct Failure: Encodable {
                let success = false
                let data: Health
                let error = "Service is unhealthy"
            }
            let health = Health(
                status: "unhealthy", timestamp: .now(), version: nil, database: "disconnected", memory: nil, error: "database unavailable")
            return JSONResponse.make(status: .serviceUnavailable, Failure(data: health))
        }
    }
}

enum ProcessMemory {
    /// Resident set size in bytes (Linux), or 0 where unknown.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
