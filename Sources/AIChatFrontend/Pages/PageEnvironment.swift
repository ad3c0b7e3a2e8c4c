import Hummingbird

/// Builds the layout data of a page from the request's language and theme choice.
struct PageEnvironment: Sendable {
    let renderer: PageRenderer
    let localization: Localization
    let assets: StaticAssets

    static let themes: Set<String> = ["light", "dark", "system"]

    /// `?lang=` (also remembered in the `lang` cookie by the caller), then the `lang` cookie; Simplified Chinese
    /// otherwise, as the original, whatever the browser's language.
    func language(for request: Request) -> Language {
        if let raw = request.uri.queryParameters.get("lang"), let language = Language(loose: raw) { return language }
        if let raw = SessionCookie.cookie("lang", in: request), let language = Language(rawValue: raw) { return language }
        return .zhCN
    }

    func theme(for request: Request) -> String {
        if let raw = SessionCookie.cookie("theme", in: request), Self.themes.contains(raw) { return raw }
        return "system"
    }

    func chrome(_ language: Language, theme: String, title: String? = nil, brand: String = "AIChat") -> PageChrome {
        let strings = self.localization(language)
        let other: Language = language == .zhCN ? .en : .zhCN
        let appTitle = strings.text("app.title")
        return PageChrome(
            lang: language.rawValue,
            theme: Self.themes.contains(theme) ? theme : "system",
            asset: self.assets.prefix,
            title: title.map { "\($0) · \(appTitle)" } ?? appTitle,
            brand: brand,
            stringsJSON: self.localization.json[language] ?? "{}",
            otherLanguage: other.rawValue,
            otherLanguageLabel: other == .en ? "English" : "简体中文"
        )
    }

    func notFound(_ request: Request) -> Response {
        let language = self.language(for: request)
        let strings = self.localization(language)
        let page = NotFoundPage(chrome: self.chrome(language, theme: self.theme(for: request), title: strings.text("notFound.title")), t: strings)
        return self.renderer.response(page, status: .notFound)
    }

    func unavailable(_ request: Request, retry: String) -> Response {
        let language = self.language(for: request)
        let strings = self.localization(language)
        let page = ErrorPage(
            chrome: self.chrome(language, theme: self.theme(for: request), title: strings.text("errorPage.title")), t: strings,
            heading: strings.text("errorPage.title"), message: strings.text("errorPage.backendDown"), retryURL: retry
        )
        return self.renderer.response(page, status: .badGateway, headers: [.retryAfter: "5"])
    }
}
