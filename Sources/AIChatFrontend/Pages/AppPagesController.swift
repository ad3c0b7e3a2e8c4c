import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird

/// `/`, `/main` and `/main/<sessionId>`: the signed-in application.
///
/// The guard trusts only the backend: a missing cookie or a 401 from `/api/auth/me` leads to the login page, and a
/// backend that does not answer gives an error page with a retry link instead of an endless spinner.
struct AppPagesController: Sendable {
    let environment: PageEnvironment
    let backend: BackendClient
    let cookie: SessionCookie

    /// Sessions embedded in the page, so the sidebar shows at once; more load on scroll.
    static let firstSessionPage = 30

    func addRoutes(to router: Router<FrontendRequestContext>) {
        router.get("/") { request, _ in
            Response(status: .found, headers: [.location: SessionCookie.token(in: request) == nil ? "/auth/login" : "/main"])
        }
        router.get("/main", use: self.main)
        router.get("/main/settings") { _, _ in Response(status: .found, headers: [.location: "/main?settings=1"]) }
        router.get("/main/:sessionId", use: self.main)
    }

    /// What `main.js` starts from.
    struct InitialState: Encodable {
        let user: JSONValue
        let personal: JSONValue
        let publicSettings: JSONValue
        let sessions: JSONValue
        let sessionId: Int?
        let pageSize: Int
    }

    func loginRedirect(_ request: Request, clearCookie: Bool) -> Response {
        let next = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
        let encoded = next.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=?+"))) ?? "/main"
        var headers: HTTPFields = [.location: "/auth/login?next=\(encoded)", .cacheControl: "no-store"]
        if clearCookie { self.cookie.clear(on: &headers, request: request) }
        return Response(status: .found, headers: headers)
    }

    @Sendable func main(_ request: Request, context: FrontendRequestContext) async throws -> Response {
        var sessionId: Int?
        if let raw = context.parameters.get("sessionId") {
            guard let id = Int(raw), id > 0 else { return self.environment.notFound(request) }
            sessionId = id
        }
        guard let token = SessionCookie.token(in: request) else { return self.loginRedirect(request, clearCookie: false) }
        let remote = context.remoteAddress?.ipAddress
        let backend = self.backend
        let me: BackendClient.Reply
        let personal: BackendClient.Reply
        let publicSettings: BackendClient.Reply
        let sessions: BackendClient.Reply
        do {
            async let meCall = backend.call(.GET, "/api/auth/me", token: token, for: request, remote: remote)
            async let personalCall = backend.call(.GET, "/api/settings/personal", token: token, for: request, remote: remote)
            async let publicCall = backend.call(.GET, "/api/settings/public", token: nil, for: request, remote: remote)
            async let sessionsCall = backend.call(
                .GET, "/api/sessions?page=1&limit=\(Self.firstSessionPage)", token: token, for: request, remote: remote)
            (me, personal, publicSettings, sessions) = try await (meCall, personalCall, publicCall, sessionsCall)
        } catch {
            context.logger.error("page \(request.uri.path): backend unavailable: \(error)")
            return self.environment.unavailable(request, retry: request.uri.description)
        }
        guard me.status == 200, let user = me.data, let username = user["username"]?.stringValue else {
            return self.loginRedirect(request, clearCookie: true)
        }
        let personalData = personal.data ?? .object([:])
        let language = personalData["language"]?.stringValue.flatMap(Language.init(rawValue:)) ?? self.environment.language(for: request)
        let theme = personalData["theme"]?.stringValue ?? self.environment.theme(for: request)
        let brand = publicSettings.data?["brand_text"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "AIChat"
        let state = InitialState(
            user: user, personal: personalData, publicSettings: publicSettings.data ?? .object([:]),
            sessions: sessions.data ?? .object(["sessions": .array([])]), sessionId: sessionId, pageSize: Self.firstSessionPage
        )
        let page = MainPage(
            chrome: self.environment.chrome(language, theme: theme, brand: brand),
            t: self.environment.localization(language),
            username: username,
            initial: String(username.prefix(1)).uppercased(),
            isAdmin: user["role"]?.stringValue == "ADMIN",
            stateJSON: PageJSON.encode(state)
        )
        return self.environment.renderer.response(page)
    }
}
