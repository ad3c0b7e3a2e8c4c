import Foundation

/// What the shared layout needs: language, theme, asset prefix, title and the strings for the browser.
struct PageChrome: Sendable {
    let lang: String
    let theme: String
    /// Versioned static prefix, e.g. `/static/0123456789ab`.
    let asset: String
    let title: String
    let brand: String
    /// The language's strings as script-safe JSON.
    let stringsJSON: String
    /// The other language, for the switch link.
    let otherLanguage: String
    let otherLanguageLabel: String
}

/// `/auth/login`.
struct LoginPage: PageModel {
    static let template = "login"
    let chrome: PageChrome
    let t: Strings
    let error: String?
    let username: String
    let next: String
    let registrationOpen: Bool
}

/// `/auth/register`.
struct RegisterPage: PageModel {
    static let template = "register"
    let chrome: PageChrome
    let t: Strings
    let error: String?
    let username: String
    let registrationOpen: Bool
    let firstUser: Bool
}

/// `/main` and `/main/<sessionId>`: the chat application shell; its data is embedded as JSON for `main.js`.
struct MainPage: PageModel {
    static let template = "main"
    let chrome: PageChrome
    let t: Strings
    let username: String
    let initial: String
    let isAdmin: Bool
    let stateJSON: String
}

/// A failure the user can retry, such as the backend being down.
struct ErrorPage: PageModel {
    static let template = "error"
    let chrome: PageChrome
    let t: Strings
    let heading: String
    let message: String
    let retryURL: String
}

/// Any path that names no page.
struct NotFoundPage: PageModel {
    static let template = "not-found"
    let chrome: PageChrome
    let t: Strings
}
