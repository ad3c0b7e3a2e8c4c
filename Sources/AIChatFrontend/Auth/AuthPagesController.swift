import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/auth/login`, `/auth/register` and `/auth/logout`: forms that post to the frontend, which calls the backend
/// and keeps the token in the HttpOnly `token` cookie (no script ever sees a token or a password).
struct AuthPagesController: Sendable {
    let environment: PageEnvironment
    let backend: BackendClient
    let cookie: SessionCookie

    func addRoutes(to router: Router<FrontendRequestContext>) {
        router.get("/auth/login", use: self.showLogin)
        router.post("/auth/login", use: self.login)
        router.get("/auth/register", use: self.showRegister)
        router.post("/auth/register", use: self.register)
        router.post("/auth/logout", use: self.logout)
    }

    /// Only a local path may be a redirect target (`/main/3`), never another site (`//evil`, `/\evil`).
    static func safeNext(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"), !raw.contains("\r"), !raw.contains("\n"),
            raw.hasPrefix("/main")
        else { return "/main" }
        return raw
    }

    /// Remembers `?lang=` in the `lang` cookie so later pages keep the language.
    func languageCookie(_ request: Request, into headers: inout HTTPFields) {
        if let raw = request.uri.queryParameters.get("lang"), let language = Language(loose: raw) {
            headers.append(HTTPField(name: .setCookie, value: "lang=\(language.rawValue); Max-Age=31536000; Path=/; SameSite=Lax"))
        }
    }

    func publicSettings(_ request: Request, context: FrontendRequestContext) async -> (brand: String, open: Bool, firstUser: Bool) {
        guard
            let reply = try? await self.backend.call(
                .GET, "/api/settings/public", token: nil, for: request, remote: context.remoteAddress?.ipAddress),
            let data = reply.data
        else { return ("AIChat", true, false) }
        let brand = data["brand_text"]?.stringValue ?? "AIChat"
        return (brand.isEmpty ? "AIChat" : brand, data["registration_open"]?.boolValue ?? true, false)
    }

    func loginPage(
        _ request: Request, context: FrontendRequestContext, error: String?, username: String, next: String, status: HTTPResponse.Status
    ) async -> Response {
        let language = self.environment.language(for: request)
        let strings = self.environment.localization(language)
        let settings = await self.publicSettings(request, context: context)
        let page = LoginPage(
            chrome: self.environment.chrome(
                language, theme: self.environment.theme(for: request), title: strings.text("auth.login"), brand: settings.brand),
            t: strings, error: error, username: username, next: next, registrationOpen: settings.open
        )
        var headers = HTTPFields()
        self.languageCookie(request, into: &headers)
        return self.environment.renderer.response(page, status: status, headers: headers)
    }

    /// Shows the form; a visitor whose cookie the backend still accepts goes straight to the app.
    @Sendable func showLogin(_ request: Request, context: FrontendRequestContext) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters.get("next").map { String($0) })
        if let token = SessionCookie.token(in: request),
            let reply = try? await self.backend.call(.GET, "/api/auth/me", token: token, for: request, remote: context.remoteAddress?.ipAddress),
            reply.status == 200
        {
            return Response(status: .found, headers: [.location: next])
        }
        return await self.loginPage(request, context: context, error: nil, username: "", next: next, status: .ok)
    }

    /// The fields of an `application/x-www-form-urlencoded` body. What a browser never sends is tolerated rather
    /// than refused with an error page: a repeated name keeps its first value, a pair whose escapes do not decode
    /// is left out (the form then lacks that field and says so).
    static func formFields(from request: Request) async throws -> [String: String] {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.formDecode(parts[0]), !name.isEmpty, fields[name] == nil,
                let value = parts.count > 1 ? Self.formDecode(parts[1]) : ""
            else { continue }
            fields[name] = value
        }
        return fields
    }

    /// `+` is a space, then percent escapes; nil when an escape is malformed or not UTF-8.
    static func formDecode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The backend's error text in the page's language when the strings know it.
    func translate(_ message: String?, language: Language) -> String {
        let strings = self.environment.localization(language)
        guard let message else { return strings.text("errors.unknown") }
        if case .object(let table)? = strings.table["backendErrors"], case .string(let text)? = table[message] { return text }
        return message
    }

    @Sendable func login(_ request: Request, context: FrontendRequestContext) async throws -> Response {
        let form = try await Self.formFields(from: request)
        let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces)
        let next = Self.safeNext(form["next"])
        let language = self.environment.language(for: request)
        let strings = self.environment.localization(language)
        guard !username.isEmpty, let password = form["password"], !password.isEmpty else {
            return await self.loginPage(
                request, context: context, error: strings.text("auth.fillAll"), username: username, next: next, status: .badRequest)
        }
        let reply: BackendClient.Reply
        do {
            reply = try await self.backend.call(
                .POST, "/api/auth/login", body: .object(["username": .string(username), "password": .string(password)]), token: nil, for: request,
                remote: context.remoteAddress?.ipAddress
            )
        } catch {
            context.logger.error("login: backend unavailable: \(error)")
            return await self.loginPage(
                request, context: context, error: strings.text("errorPage.backendDown"), username: username, next: next, status: .badGateway)
        }
        guard reply.status == 200, let token = reply.data?["token"]?.stringValue else {
            let status = HTTPResponse.Status(code: reply.status == 200 ? 502 : reply.status)
            return await self.loginPage(
                request, context: context, error: self.translate(reply.error, language: language), username: username, next: next, status: status)
        }
        var headers: HTTPFields = [.location: next, .cacheControl: "no-store"]
        self.cookie.set(token, on: &headers, request: request)
        return Response(status: .seeOther, headers: headers)
    }

    func registerPage(
        _ request: Request, context: FrontendRequestContext, error: String?, username: String, status: HTTPResponse.Status
    ) async -> Response {
        let language = self.environment.language(for: request)
        let strings = self.environment.localization(language)
        let settings = await self.publicSettings(request, context: context)
        let page = RegisterPage(
            chrome: self.environment.chrome(
                language, theme: self.environment.theme(for: request), title: strings.text("auth.register"), brand: settings.brand),
            t: strings, error: error, username: username, registrationOpen: settings.open, firstUser: settings.firstUser
        )
        var headers = HTTPFields()
        self.languageCookie(request, into: &headers)
        return self.environment.renderer.response(page, status: status, headers: headers)
    }

    @Sendable func showRegister(_ request: Request, context: FrontendRequestContext) async throws -> Response {
        await self.registerPage(request, context: context, error: nil, username: "", status: .ok)
    }

    /// The same rules as the backend: 3–20 letters, digits or `_`; at least 8 characters with a letter and a digit.
    static func validUsername(_ name: String) -> Bool {
        (3...20).contains(name.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    static func validPassword(_ password: String) -> Bool {
        password.count >= 8 && password.count <= 256 && password.unicodeScalars.contains { $0.isASCII && $0.properties.isAlphabetic }
            && password.unicodeScalars.contains { ("0"..."9").contains($0) }
    }

    @Sendable func register(_ request: Request, context: FrontendRequestContext) async throws -> Response {
        let form = try await Self.formFields(from: request)
        let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let language = self.environment.language(for: request)
        let strings = self.environment.localization(language)
        let problem: String? =
            if !Self.validUsername(username) {
                strings.text("auth.usernameRule")
            } else if !Self.validPassword(password) {
                strings.text("auth.passwordRule")
            } else if password != form["confirmPassword"] {
                strings.text("auth.mismatch")
            } else {
                nil
            }
        if let problem { return await self.registerPage(request, context: context, error: problem, username: username, status: .badRequest) }
        let reply: BackendClient.Reply
        do {
            reply = try await self.backend.call(
                .POST, "/api/auth/register", body: .object(["username": .string(username), "password": .string(password)]), token: nil, for: request,
                remote: context.remoteAddress?.ipAddress
            )
        } catch {
            context.logger.error("register: backend unavailable: \(error)")
            return await self.registerPage(
                request, context: context, error: strings.text("errorPage.backendDown"), username: username, status: .badGateway)
        }
        guard reply.status == 200, let token = reply.data?["token"]?.stringValue else {
            let status = HTTPResponse.Status(code: reply.status == 200 ? 502 : reply.status)
            return await self.registerPage(
                request, context: context, error: self.translate(reply.error, language: language), username: username, status: status)
        }
        var headers: HTTPFields = [.location: "/main", .cacheControl: "no-store"]
        self.cookie.set(token, on: &headers, request: request)
        return Response(status: .seeOther, headers: headers)
    }

    /// Revokes the user's tokens at the backend (best effort) and clears the cookie.
    @Sendable func logout(_ request: Request, context: FrontendRequestContext) async throws -> Response {
        if let token = SessionCookie.token(in: request) {
            _ = try? await self.backend.call(.POST, "/api/auth/logout", token: token, for: request, remote: context.remoteAddress?.ipAddress)
        }
        var headers: HTTPFields = [.location: "/auth/login", .cacheControl: "no-store"]
        self.cookie.clear(on: &headers, request: request)
        return Response(status: .seeOther, headers: headers)
    }
}
