import AIChatCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Why a connection could not be used, in words a user may see (never a key or a full URL).
struct ProviderFailure: Error, CustomStringConvertible {
    let publicMessage: String
    /// Whether the same request may be sent again: the provider answered 429, 502 or 503.
    var retryable = false
    /// The provider's HTTP status; nil when it did not answer.
    var status: Int?
    /// The provider's `Retry-After`, when it sent one.
    var retryAfter: Duration?

    var description: String { self.publicMessage }
}

/// Sends provider requests: SSRF checks for personal connections, no redirects, provider errors turned into
/// ``ProviderFailure``, and retries only of what provably did not reach the model.
///
/// A connection that cannot be established (name, connect, TLS handshake) is retried by the HTTP client itself, within
/// its connect timeout, before any byte of the request is written. Once the request was written, it is never sent
/// again unless the provider answered 429, 502 or 503: a request that broke off without an answer may have been
/// billed already.
struct ProviderGateway: Sendable {
    let http: ProviderHTTPClient
    let outbound: OutboundGuard
    let cipher: SecretCipher
    let settings: SystemSettingsService
    let systemOAuthToken: String?
    let azureAccessToken: String?
    let logger: Logger

    /// The endpoint of a stored connection, its key decrypted. The server's own tokens go to system connections only:
    /// a personal connection names a host of its owner's choosing.
    func endpoint(for connection: Connection) throws -> ProviderEndpoint {
        guard let kind = connection.kind else {
            throw ProviderFailure(publicMessage: "Unsupported provider \(connection.provider)")
        }
        let key: String
        do {
            key = try self.cipher.decrypt(connection.apiKey)
        } catch {
            throw ProviderFailure(publicMessage: "The stored API key cannot be decrypted (was ENCRYPTION_KEY changed?); enter the key again")
        }
        return ProviderEndpoint(
            kind: kind, baseURL: connection.baseUrl, authType: connection.auth, apiKey: key.isEmpty ? nil : key,
            extraHeaders: connection.headers, azureAPIVersion: connection.azureApiVersion,
            systemOAuthToken: connection.isSystem ? self.systemOAuthToken : nil,
            azureAccessToken: connection.isSystem ? self.azureAccessToken : nil
        )
    }

    /// Refuses cloud metadata endpoints for every connection and internal addresses for personal (`guarded`) ones,
    /// except the ranges an administrator allowed; returns the checked addresses a guarded request must connect to
    /// (empty for system connections, whose hosts an administrator chose and which resolve as usual).
    func checkDestination(_ url: String, guarded: Bool) async throws -> [String] {
        do {
            guard guarded else {
                try await self.outbound.check(url, policy: .system)
                return []
            }
            let allowed = try await self.settings.current().networks(.personalConnectionsAllowedNetworks)
            return try await self.outbound.check(url, policy: .personal(allowed: allowed))
        } catch let refusal as OutboundGuard.Refusal {
            throw ProviderFailure(publicMessage: "Connection refused: \(refusal.reason)")
        }
    }

    /// The HTTP request as AsyncHTTPClient sends it.
    static func makeRequest(_ request: ProviderHTTPRequest) -> HTTPClientRequest {
        var out = HTTPClientRequest(url: request.url)
        out.method = .init(rawValue: request.method.rawValue)
        for (name, value) in request.headers { out.headers.replaceOrAdd(name: name, value: value) }
        if request.method == .post { out.body = .bytes(ByteBuffer(data: request.body)) }
        return out
    }

    /// The address a guarded request connects to: one that was checked, IPv4 first (a name like localhost often
    /// lists ::1 first while the service listens on IPv4 only).
    static func connectAddress(_ checked: [String]) -> String? {
        checked.first { IPAddress($0)?.isIPv4 == true } ?? checked.first
    }

    /// Sends the request once and returns a successful response (close it when done with its body); a provider error
    /// becomes a ``ProviderFailure``.
    func execute(_ request: ProviderHTTPRequest, guarded: Bool, timeout: Duration, secrets: [String]) async throws -> ProviderHTTPClient.Response {
        let checked = try await self.checkDestination(request.url, guarded: guarded)
        let response: ProviderHTTPClient.Response
        do {
            response = try await self.http.execute(
                Self.makeRequest(request), connectingTo: Self.connectAddress(checked), deadline: .now() + .init(timeout), logger: self.logger
            )
        } catch {
            throw self.failure(for: error, request: request)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            defer { response.close() }
            let body = (try? await response.body.collect(upTo: 64 * 1024)).map { Data(buffer: $0) } ?? Data()
            let failure = ProviderResponseParser.error(status: Int(response.status.code), body: body)
            throw ProviderFailure(
                publicMessage: failure.publicMessage(redacting: secrets), retryable: failure.isRetryable, status: Int(response.status.code),
                retryAfter: response.headers.first(name: "retry-after").flatMap(Self.retryAfter)
            )
        }
        return response
    }

    /// The whole body of a successful answer, at most `limit` bytes.
    func fetch(_ request: ProviderHTTPRequest, guarded: Bool, timeout: Duration, secrets: [String], upTo limit: Int) async throws -> ByteBuffer {
        let response = try await self.execute(request, guarded: guarded, timeout: timeout, secrets: secrets)
        defer { response.close() }
        do {
            return try await response.body.collect(upTo: limit)
        } catch let error as NIOTooManyBytesError {
            throw ProviderFailure(publicMessage: "The AI provider's answer is larger than \(limit / 1024) KB: \(error)")
        } catch {
            throw self.failure(for: error, request: request)
        }
    }

    /// What an error of the HTTP client means for the user.
    func failure(for error: any Error, request: ProviderHTTPRequest) -> any Error {
        if error is CancellationError || (error as? HTTPClientError) == .cancelled { return CancellationError() }
        // Ours already: a refusal, an undecodable stream, an answer over the size limit.
        if error is ProviderFailure || error is ProviderError || error is APIError { return error }
        if let parser = error as? HTTPParserError {
            return ProviderFailure(
                publicMessage: parser == .invalidEOFState
                    ? "The connection to the AI provider closed before the answer was complete" : "The AI provider sent a malformed response"
            )
        }
        if let client = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout].contains(client) {
                return ProviderFailure(publicMessage: "The AI provider did not answer in time")
            }
            if [.connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout].contains(client) {
                return ProviderFailure(publicMessage: "Could not reach the AI provider (connect timeout)")
            }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(client) {
                return ProviderFailure(publicMessage: "The connection's base URL is not a valid http(s) URL")
            }
            if client == .remoteConnectionClosed {
                return ProviderFailure(publicMessage: "The connection to the AI provider closed before the answer was complete")
            }
        }
        self.logger.notice("provider request failed: \(request.description): \(error)")
        return ProviderFailure(publicMessage: "Could not reach the AI provider (\(Self.networkReason(error)))")
    }

    /// ``execute`` again after a 429, 502 or 503, up to `retries` times, waiting per `Retry-After` (capped) or with
    /// exponential back-off.
    func executeWithRetry(
        _ request: ProviderHTTPRequest, guarded: Bool, timeout: Duration, secrets: [String], retries: Int = 2
    ) async throws -> ProviderHTTPClient.Response {
        var attempt = 0
        while true {
            do {
                return try await self.execute(request, guarded: guarded, timeout: timeout, secrets: secrets)
            } catch let failure as ProviderFailure where failure.retryable && attempt < retries {
                attempt += 1
                let backoff = failure.status == 429 ? Duration.seconds(2 * attempt) : Duration.milliseconds(500 * (1 << attempt))
                let wait = min(failure.retryAfter ?? backoff, Self.longestRetryWait)
                self.logger.info("provider answered \(failure.status.map(String.init) ?? "?"); retry \(attempt) in \(wait)")
                try await Task.sleep(for: wait)
            }
        }
    }

    static let longestRetryWait = Duration.seconds(30)

    /// `Retry-After` in seconds or as an HTTP date.
    static func retryAfter(_ value: String) -> Duration? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }

    static func networkReason(_ error: any Error) -> String {
        let text = String(describing: error).lowercased()
        if text.contains("refused") { return "connection refused" }
        if text.contains("resolve") || text.contains("dns") || text.contains("nodename") || text.contains("lookup") { return "host not found" }
        if text.contains("tls") || text.contains("ssl") || text.contains("certificate") { return "TLS error" }
        if text.contains("reset") || text.contains("closed") { return "connection closed" }
        return "network error"
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
