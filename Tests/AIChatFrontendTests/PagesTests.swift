import AIChatCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AIChatFrontend

/// A stand-in for the backend's auth, settings and session endpoints; `valid-token` is the only accepted token.
enum FakeBackend {
    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var all: HTTPFields = [.contentType: "application/json"]
        all.append(contentsOf: headers)
        return Response(status: status, headers: all, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func signedIn(_ request: Request) -> Bool {
        request.headers[.cookie]?.contains("token=valid-token") == true
    }

    static func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/api/settings/public") { _, _ in
            json(#"{"success":true,"data":{"brand_text":"TestBrand","registration_open":true,"reasoning_enabled":true,"version":"v9"}}"#)
        }
        router.get("/api/auth/me") { request, _ in
            signedIn(request)
                ? json(#"{"success":true,"data":{"id":1,"username":"alice","role":"ADMIN"}}"#)
                : json(#"{"success":false,"error":"Invalid token"}"#, status: .unauthorized)
        }
        router.get("/api/settings/personal") { request, _ in
            signedIn(request)
                ? json(#"{"success":true,"data":{"theme":"dark","language":"en","context_token_limit":4000}}"#)
                : json(#"{"success":false,"error":"Invalid token"}"#, status: .unauthorized)
        }
        router.get("/api/sessions") { request, _ in
            signedIn(request)
                ? json(
                    #"{"success":true,"data":{"sessions":[{"id":7,"title":"</script><script>alert(1)</script>","createdAt":"2024-01-01T00:00:00.000Z"}],"pagination":{"page":1,"limit":30,"total":1,"totalPages":1}}}"#
                )
                : json(#"{"success":false,"error":"Invalid token"}"#, status: .unauthorized)
        }
        router.post("/api/auth/login") { request, _ in
            var request = request
            let body = try JSONValue.parse(Data(buffer: try await request.collectBody(upTo: 1 << 16)))
            guard body["username"] == .string("alice"), body["password"] == .string("secret123") else {
                return json(#"{"success":false,"error":"Invalid username or password"}"#, status: .unauthorized)
            }
            let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!] ?? ""
            return json(
                #"{"success":true,"data":{"user":{"id":1,"username":"alice","role":"ADMIN"},"token":"valid-token"}}"#,
                headers: [HTTPField.Name("X-Saw-Forwarded")!: forwarded])
        }
        router.post("/api/auth/register") { _, _ in
            json(#"{"success":false,"error":"Username already exists"}"#, status: .conflict)
        }
        router.post("/api/auth/logout") { _, _ in json(#"{"success":true,"message":"Logged out"}"#) }
        return router
    }

    /// Runs `body` with a frontend in front of a live fake backend.
    static func withPages(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let upstream = Application(router: self.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await upstream.test(.live) { upstreamClient in
            let port = try #require(upstreamClient.port)
            try await withFrontend(backendPort: port, body)
        }
    }
}

func header(_ response: TestResponse, _ name: String) -> String? {
    response.headers[HTTPField.Name(name)!]
}

func cookies(_ response: TestResponse) -> [String] {
    response.headers[values: .setCookie]
}

let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

@Suite struct PagesTests {
    @Test func rootRedirectsByCookie() async throws {
        try await withFrontend(backendPort: 9) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/auth/login")
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: "token=abc"]) { response in
                #expect(response.headers[.location] == "/main")
            }
        }
    }

    @Test func loginPageIsChineseWithSecurityHeaders() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(uri: "/auth/login", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                #expect(html.contains("<html lang=\"zh-CN\""))
                #expect(html.contains("登录您的账户开始对话"))
                #expect(html.contains("action=\"/auth/login\""))
                #expect(html.contains("TestBrand"))
                #expect(!html.contains("<script>"))
                let csp = try #require(response.headers[.contentSecurityPolicy])
                #expect(csp.contains("script-src 'self'"))
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(!csp.contains("unsafe-eval"))
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(header(response, "Referrer-Policy") == "same-origin")
                #expect(response.headers[.cacheControl] == "no-store")
            }
            try await client.execute(uri: "/auth/login?lang=en", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("<html lang=\"en\""))
                #expect(html.contains("Log in to your account"))
                #expect(cookies(response).contains { $0.hasPrefix("lang=en;") })
            }
            try await client.execute(uri: "/auth/login", method: .get, headers: [.cookie: "lang=en"]) { response in
                #expect(String(buffer: response.body).contains("<html lang=\"en\""))
            }
        }
    }

    @Test func loginSetsTheHttpOnlyCookieAndRedirects() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(
                uri: "/auth/login", method: .post, headers: formType, body: ByteBuffer(string: "username=alice&password=secret123&next=%2Fmain%2F7")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/main/7")
                let cookie = try #require(cookies(response).first { $0.hasPrefix("token=") })
                #expect(cookie == "token=valid-token; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax")
            }
            var headers = formType
            headers[.xForwardedProto] = "https"
            try await client.execute(
                uri: "/auth/login", method: .post, headers: headers, body: ByteBuffer(string: "username=alice&password=secret123&next=//evil.example")
            ) { response in
                #expect(response.headers[.location] == "/main")
                #expect(cookies(response).first { $0.hasPrefix("token=") }?.hasSuffix("; Secure") == true)
            }
        }
    }

    /// Bodies no browser sends (broken escapes, repeated names, no form at all) get the form back, never a 500.
    @Test func oddFormBodiesGetTheFormBack() async throws {
        try await FakeBackend.withPages { client in
            for body in ["%zz=%zz", "username=%zz&password=secret123", "", "&&&=", "\u{FF}\u{FE}"] {
                try await client.execute(uri: "/auth/login", method: .post, headers: formType, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(String(buffer: response.body).contains("请输入用户名和密码"), "\(body)")
                }
                try await client.execute(uri: "/auth/register", method: .post, headers: formType, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                }
            }
            // A repeated name keeps its first value; unknown repeated names are ignored.
            let repeated = "username=alice&username=mallory&password=secret123&password=x&x=1&x=2&next=%2Fmain%2F3&next=%2Fmain%2F4"
            try await client.execute(uri: "/auth/login", method: .post, headers: formType, body: ByteBuffer(string: repeated)) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/main/3")
            }
            try await client.execute(
                uri: "/auth/login", method: .post, headers: formType, body: ByteBuffer(string: "username=alice+&password=secret123")
            ) { response in
                #expect(response.status == .seeOther, "a + is a space, trimmed from the name")
            }
        }
    }

    @Test func wrongPasswordShowsTheTranslatedError() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(uri: "/auth/login", method: .post, headers: formType, body: ByteBuffer(string: "username=alice&password=wrong"))
            { response in
                #expect(response.status == .unauthorized)
                let html = String(buffer: response.body)
                #expect(html.contains("用户名或密码错误"))
                #expect(html.contains("value=\"alice\""))
                #expect(cookies(response).allSatisfy { !$0.hasPrefix("token=") })
            }
        }
    }

    @Test func registerChecksTheServerRulesFirst() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(
                uri: "/auth/register", method: .post, headers: formType,
                body: ByteBuffer(string: "username=bob&password=abcdefg1&confirmPassword=abcdefg2")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("两次输入的密码不一致"))
            }
            try await client.execute(
                uri: "/auth/register", method: .post, headers: formType,
                body: ByteBuffer(string: "username=bob&password=short1&confirmPassword=short1")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("密码至少 8 位"))
            }
            try await client.execute(
                uri: "/auth/register", method: .post, headers: formType,
                body: ByteBuffer(string: "username=bob&password=abcdefg1&confirmPassword=abcdefg1")
            ) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("用户名已存在"))
            }
            try await client.execute(uri: "/auth/register", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("创建新账户开始对话"))
            }
        }
    }

    @Test func logoutClearsTheCookie() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(uri: "/auth/logout", method: .post, headers: [.cookie: "token=valid-token"]) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/auth/login")
                #expect(cookies(response).contains("token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"))
            }
        }
    }

    @Test func crossSiteFormPostsAreRefused() async throws {
        try await FakeBackend.withPages { client in
            var headers = formType
            headers[.origin] = "https://evil.example"
            headers[.xForwardedHost] = "chat.example"
            try await client.execute(uri: "/auth/logout", method: .post, headers: headers) { response in
                #expect(response.status == .forbidden)
                #expect(cookies(response).isEmpty)
            }
        }
    }

    @Test func mainNeedsAValidCookie() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(uri: "/main/7", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/auth/login?next=/main/7")
            }
            try await client.execute(uri: "/main", method: .get, headers: [.cookie: "token=expired"]) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location]?.hasPrefix("/auth/login") == true)
                #expect(cookies(response).contains { $0.hasPrefix("token=; Max-Age=0") })
            }
            // A signed-in visitor of the login page goes to the app.
            try await client.execute(uri: "/auth/login", method: .get, headers: [.cookie: "token=valid-token"]) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/main")
            }
        }
    }

    @Test func mainRendersTheShellWithSafeInitialState() async throws {
        try await FakeBackend.withPages { client in
            try await client.execute(uri: "/main/7", method: .get, headers: [.cookie: "token=valid-token"]) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                // Personal settings decide language and theme.
                #expect(html.contains("<html lang=\"en\" data-theme=\"dark\">"))
                #expect(html.contains("id=\"initial-state\""))
                #expect(html.contains("\"sessionId\":7"))
                #expect(html.contains("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"))
                #expect(!html.contains("<script>alert(1)"))
                #expect(html.contains("TestBrand"))
                #expect(html.contains(">alice<"))
                #expect(html.contains("type=\"module\""))
            }
            try await client.execute(uri: "/main/abc", method: .get, headers: [.cookie: "token=valid-token"]) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func backendDownGivesARetryPage() async throws {
        try await withFrontend(backendPort: 9) { client in
            try await client.execute(uri: "/main/3", method: .get, headers: [.cookie: "token=abc"]) { response in
                #expect(response.status == .badGateway)
                let html = String(buffer: response.body)
                #expect(html.contains("后端服务没有响应"))
                #expect(html.contains("href=\"/main/3\""))
            }
            // The login form still renders, and posting explains the failure instead of hanging.
            try await client.execute(uri: "/auth/login", method: .post, headers: formType, body: ByteBuffer(string: "username=a&password=b")) {
                response in
                #expect(response.status == .badGateway)
                #expect(String(buffer: response.body).contains("后端服务没有响应"))
            }
        }
    }

    @Test func unknownPathsGetTheNotFoundPage() async throws {
        try await withFrontend(backendPort: 9) { client in
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                let html = String(buffer: response.body)
                #expect(html.contains("页面不存在"))
                #expect(html.contains("请检查链接是否正确"))
                #expect(response.headers[.contentSecurityPolicy] != nil)
            }
        }
    }
}
