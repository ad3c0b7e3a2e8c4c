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
        let body = try await self.gateway.fetch(
            request, guarded: !connection.isSystem, timeout: Self.timeout, secrets: [endpoint.apiKey].compactMap { $0 }, upTo: 16 << 20
        )
        do {
            return try ProviderResponseParser.models(kind: endpoint.kind, body: Data(buffer: body)).compactMap { model in
                // Ids are stored and sent back as given: one PostgreSQL could not store (U+0000) is left out.
                model.id.utf8.contains(0) ? nil : ListedModel(id: model.id, name: model.name.withoutNulCharacters)
            }
        } catch {
            throw ProviderFailure(publicMessage: error.publicMessage)
        }
    }
}

/// Checks that a connection answers with its settings (a cheap listing or version call).
struct ConnectionVerifier {
    let gateway: ProviderGateway

    func verify(_ connection: Connection, guarded: Bool) async throws {
        do {
            let endpoint = try self.gateway.endpoint(for: connection)
            let request = try ProviderRequestBuilder(endpoint).verify()
            _ = try await self.gateway.fetch(
                request, guarded: guarded, timeout: ProviderModelSource.timeout, secrets: [endpoint.apiKey].compactMap { $0 }, upTo: 16 << 20
            )
        } catch let error as ProviderError {
            throw ProviderFailure(publicMessage: error.publicMessage)
        }
    }
}
