import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// A page's view model; `template` names its file under `Resources/templates`.
protocol PageModel: Sendable {
    static var template: String { get }
}

/// Renders typed page models with the Mustache templates, loaded once at start-up.
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Every template the frontend renders; start-up stops when one is missing.
    static let requiredTemplates = ["layout", "login", "register", "main", "error", "not-found"]

    struct MissingTemplate: Error, CustomStringConvertible {
        let name: String
        let directory: String
        var description: String { "missing template \(self.name).mustache in \(self.directory)" }
    }

    init(directory: String) async throws {
        self.library = try await MustacheLibrary(directory: directory)
        for name in Self.requiredTemplates where self.library.getTemplate(named: name) == nil {
            throw MissingTemplate(name: name, directory: directory)
        }
    }

    func html<Page: PageModel>(_ page: Page) -> String {
        self.library.render(page, withTemplate: Page.template) ?? ""
    }

    /// The page as an HTML response that no cache keeps (pages carry per-user data).
    func response<Page: PageModel>(_ page: Page, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(string: self.html(page))))
    }
}
