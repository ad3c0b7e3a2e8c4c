import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTPS server on 127.0.0.1 with a self-signed certificate for `localhost` only (made for these
/// tests only, valid for a century): every request is answered `200` with the `Host` it named.
enum TLSTestServer {
    static let certificatePEM = """
-----BEGIN CERTIFICATE-----
MIIBlDCCATugAwIBAgIUOL7E6sjTNRbp1e74CsmVWI/CS0AwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyOTA4MzMzN1oYDzIxMjYxMTA1
MDgzMzM3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ2bzUp7mELH4LjtnpQSLVgOAzVxpVVdvj+6ef60cJRZlaV/T/wu2c4
eFfkhcwVSwc4tcGPAafV4u+dWNdFnfUTo2kwZzAdBgNVHQ4EFgQUWdyFIrofalEb
sQS37ajNMjk4o2owHwYDVR0jBBgwFoAUWdyFIrofalEbsQS37ajNMjk4o2owDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
RwAwRAIgRMn/oc9SR0SqjgPlb3IIeTpZqEyPlKY5MQ9+L4h+JcMCIC3ny2IyHGi8
2GyKs18uMFmnxLMxqZ4e8FxNFv7g/Jib
-----END CERTIFICATE-----
"""

    static let privateKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeNLNm1ZVUcW0M90r
545ZG6A0mGQZSnvSdftKgcFmLMGhRANCAAQ2bzUp7mELH4LjtnpQSLVgOAzVxpVV
dvj+6ef60cJRZlaV/T/wu2c4eFfkhcwVSwc4tcGPAafV4u+dWNdFnfUT
-----END PRIVATE KEY-----
"""

    static func certificate() throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(Self.certificatePEM.utf8), format: .pem)
    }

    final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = self.unwrapInboundIn(data) else { return }
            let body = ByteBuffer(string: "host=\(head.headers.first(name: "host") ?? "")")
            let response = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": String(body.readableBytes)])
            context.write(self.wrapOutboundOut(.head(response)), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    static func run<T>(_ body: (_ port: Int) async throws -> T) async throws -> T {
        let key = try NIOSSLPrivateKey(bytes: Array(Self.privateKeyPEM.utf8), format: .pem)
        let context = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(try Self.certificate())], privateKey: .privateKey(key)))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answer())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await body(channel.localAddress?.port ?? 0)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}
