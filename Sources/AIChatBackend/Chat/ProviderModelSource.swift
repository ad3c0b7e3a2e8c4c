import AIChatCore
import Foundation
import NIOCore
import NIOFoundationCompat

/// Model lists and connection checks over the network, through ``ProviderGateway``.
struct ProviderModelSource: ModelSource {
    let gateway: ProviderGateway
    static let timeout = Duration.seconds(15)

    func listModels(_ connection: Connection) async throws -> [ListedModel] {
        let endpoint = try self.gateway.endpoint(for: connection)
        let request = try ProviderRequestBuilder(endpoint).listModels()
        let response = try await self.gateway.execute(
            request, guarded: !connection.isSystem, timeout: Self.timeout, secrets: [endpoint.apiKey].compactMap { $0 }
        )
        let body = try await response.body.collect(upTo: 16 << 20)
        return try ModelListParser.parse(Data(buffer: body), kind: endpoint.kind)
    }
}

/// Checks that a connection answers with its settings (a cheap listing or version call).
struct ConnectionVerifier {
    let gateway: ProviderGateway

    func verify(_ connection: Connection, guarded: Bool) async throws {
        do {
            let endpoint = try self.gateway.endpoint(for: connection)
            let request = try ProviderRequestBuilder(endpoint).verify()
            let response = try await self.gateway.execute(
                request, guarded: guarded, timeout: ProviderModelSource.timeout, secrets: [endpoint.apiKey].compactMap { $0 }
            )
            _ = try await response.body.collect(upTo: 16 << 20)
        } catch let error as ProviderError {
            throw ProviderFailure(publicMessage: error.publicMessage)
        }
    }
}

/// Reads the model listings of each provider family.
enum ModelListParser {
    static func parse(_ data: Data, kind: ProviderKind) throws -> [ListedModel] {
        guard case .object(let root)? = try? JSONValue.parse(data) else {
            throw ProviderFailure(publicMessage: "The provider's model list could not be read")
        }
        var models: [ListedModel] = []
        switch kind {
            case .openai, .azureOpenAI, .anthropic:
                for item in root["data"].arrayItems {
                    guard case .string(let id)? = item["id"] else { continue }
                    let name = item["display_name"]?.stringValue ?? item["name"]?.stringValue ?? id
                    models.append(ListedModel(id: id, name: name))
                }
            case .ollama:
                for item in root["models"].arrayItems {
                    guard let id = item["model"]?.stringValue ?? item["name"]?.stringValue else { continue }
                    models.append(ListedModel(id: id, name: item["name"]?.stringValue ?? id))
                }
            case .google:
                for item in root["models"].arrayItems {
                    guard var id = item["name"]?.stringValue else { continue }
                    if case .array(let methods)? = item["supportedGenerationMethods"], !methods.contains(.string("generateContent")) { continue }
                    if id.hasPrefix("models/") { id = String(id.dropFirst(7)) }
                    models.append(ListedModel(id: id, name: item["displayName"]?.stringValue ?? id))
                }
        }
        var seen = Set<String>()
        return models.filter { seen.insert($0.id).inserted }
    }
}

extension Optional where Wrapped == JSONValue {
    fileprivate var arrayItems: [JSONValue] {
        if case .array(let items)? = self { return items }
        return []
    }
}

extension JSONValue {
    fileprivate subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    fileprivate var stringValue: String? {
        if case .string(let text) = self, !text.isEmpty { return text }
        return nil
    }
}
