import AIChatCore
import Foundation
import Hummingbird
import NIOCore

/// `POST /api/chat/generate`: one prompt to a model, no session, nothing stored; the provider's answer is relayed
/// as it comes.
struct GenerateController {
    let service: ChatService
    let resolver: ModelResolver
    let bodyLimit: Int

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("generate", use: self.generate)
    }

    /// One prompt, no session: the provider's own answer body is returned as it came (status included).
    @Sendable func generate(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let body = try await request.jsonObject(limit: self.bodyLimit)
        let prompt = try body.string("prompt", minLength: 1, maxLength: ChatRequestBody.maxContentLength)
        let connectionId = try body.optionalInteger("connectionId", in: 1...Int.max)
        let modelId = try body.optionalString("modelId", minLength: 1, maxLength: 512)
        let stream = try body.optionalBool("stream") ?? false
        guard connectionId != nil || modelId != nil else { throw APIError.badRequest("connectionId or modelId required") }
        let connection: Connection
        let model: String
        do {
            (connection, model) = try await self.resolver.resolve(
                user: user, modelId: modelId, connectionId: connectionId, rawId: connectionId != nil ? modelId : nil)
        } catch let error as APIError where error.status == .badRequest {
            throw APIError.notFound(connectionId != nil ? "Connection not found" : "Model not found")
        }
        try await self.resolver.requireOffered(model, on: connection, to: user)
        let gateway = self.service.gateway
        let endpoint: ProviderEndpoint
        let providerRequest: ProviderHTTPRequest
        do {
            endpoint = try gateway.endpoint(for: connection)
            providerRequest = try ProviderRequestBuilder(endpoint).chat(
                [ChatMessage(role: .user, text: prompt)], options: GenerationOptions(model: model), stream: stream
            )
        } catch let failure as ProviderFailure {
            throw APIError.badRequest(failure.publicMessage)
        } catch let error as ProviderError {
            throw APIError.badRequest(error.publicMessage)
        }
        let timeout = try await self.service.settings.current().int(.providerTimeoutMs)
        let secrets = [endpoint.apiKey, endpoint.systemOAuthToken, endpoint.azureAccessToken].compactMap { $0 }
        let response: ProviderHTTPClient.Response
        do {
            response = try await gateway.execute(providerRequest, guarded: !connection.isSystem, timeout: .milliseconds(timeout), secrets: secrets)
        } catch let failure as ProviderFailure {
            throw APIError(.badGateway, failure.publicMessage)
        }
        let contentType = response.headers.first(name: "content-type") ?? "application/json"
        return Response(
            status: .init(code: Int(response.status.code)),
            headers: [.contentType: contentType, .cacheControl: "no-cache, no-transform"],
            body: ResponseBody { writer in
                defer { response.close() }
                for try await chunk in response.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }
}
