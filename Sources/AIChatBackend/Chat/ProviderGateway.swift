import AIChatCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Why a connection could not be used, in words a user may see (never a key or a full URL).
struct ProviderFailure: Error, CustomStringConvertible {
    let publicMessage: String
    /// Whether the same request may succeed later (rate limit, overload).
    var retryable = false
    var status: Int?
    /// The provider's `Retry-After`, when it sent one.
    var retryAfter: Duration?

    var description: String { self.publicMessage }
}

/// Sends provider requests: SSRF checks for personal connections, no redirects, retries with back-off on
/// 429/5xx before any byte of the answer, and provider errors turned into ``ProviderFailure``.
struct ProviderGateway: Sendable {
    let http: UpstreamClient
    let outbound: OutboundGuard
    let cipher: SecretCipher
    let settings: SystemSettingsService
    let systemOAuthToken: String?
    let azureAccessToken: String?
    let logger: Logger

    /// The endpoint of a stored connection, its key decrypted.
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
            extraHeaders: connection.headers, azureAPIVersion: connection.azureApiVersion, systemOAuthToken: self.systemOAuthToken,
            azureAccessToken: self.azureAccessToken
        )
    }

    /// Refuses internal addresses for personal connections unless an administrator allowed them; returns the
    /// addresses that were checked (empty when the request is not guarded).
    func checkDestination(_ url: String, guarded: Bool) async throws -> [String] {
        guard guarded else { return [] }
        let allowPrivate = try await self.settings.current().bool(.personalConnectionsAllowPrivate)
        do {
            return try await self.outbound.check(url, allowPrivate: allowPrivate)
        } catch let refusal as OutboundGuard.Refusal {
            throw ProviderFailure(publicMessage: "Connection refused: \(refusal.reason)")
        }
    }

    /// The HTTP request; a guarded request connects to an address that was checked (IPv4 first: a name like
    /// localhost often lists ::1 first while the service listens on IPv4 only). Connecting to the checked address
    /// means a name that resolves differently a moment later (DNS rebinding) cannot turn the request inward; `Host`
    /// and the TLS name stay the URL's.
    static func makeRequest(_ request: ProviderHTTPRequest, checkedAddresses: [String] = []) -> UpstreamRequest {
        var out = UpstreamRequest(method: HTTPMethod(rawValue: request.method.rawValue), url: request.url)
        for (name, value) in request.headers { out.headers.replaceOrAdd(name: name, value: value) }
        if request.method == .post { out.body = ByteBuffer(data: request.body) }
        out.address = checkedAddresses.first { OutboundGuard.parseIPv4($0) != nil } ?? checkedAddresses.first
        return out
    }

    /// Executes once and returns the response when it is a success; provider errors become failures. A `sink`
    /// receives a successful response's body from its first byte (see ``UpstreamClient/execute(_:deadline:sink:)``).
    func execute(
        _ request: ProviderHTTPRequest, guarded: Bool, timeout: Duration, secrets: [String], sink: (any UpstreamBodySink)? = nil
    ) async throws -> UpstreamResponse {
        let checked = try await self.checkDestination(request.url, guarded: guarded)
        let response: UpstreamResponse
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
            response = try await self.http.execute(Self.makeRequest(request, checkedAddresses: checked), deadline: deadline, sink: sink)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as UpstreamError where error == .deadlineExceeded || error == .connectTimeout {
            throw ProviderFailure(publicMessage: "The AI provider did not answer in time", retryable: true)
        } catch UpstreamError.invalidURL {
            throw ProviderFailure(publicMessage: "The connection's base URL is not a valid http(s) URL")
        } catch {
            self.logger.notice("provider request failed: \(request.description): \(error)")
            throw ProviderFailure(publicMessage: "Could not reach the AI provider (\(Self.networkReason(error)))", retryable: true)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = (try? await response.body.collect(upTo: 64 * 1024)).map { Data(buffer: $0) } ?? Data()
            let failure = ProviderResponseParser.error(status: Int(response.status.code), body: body)
            throw ProviderFailure(
                publicMessage: failure.publicMessage(redacting: secrets), retryable: failure.isRetryable, status: Int(response.status.code),
                retryAfter: response.headers.first(name: "retry-after").flatMap(Self.retryAfter)
            )
        }
        return response
    }

    /// ``execute`` with up to `retries` retries of retryable failures, waiting per `Retry-After` (capped) or
    /// with exponential back-off; `onWait` runs before each wait (the stream sends keep-alives meanwhile).
    func executeWithRetry(
        _ request: ProviderHTTPRequest, guarded: Bool, timeout: Duration, secrets: [String], retries: Int = 2, sink: (any UpstreamBodySink)? = nil
    ) async throws -> UpstreamResponse {
        var attempt = 0
        while true {
            do {
                return try await self.execute(request, guarded: guarded, timeout: timeout, secrets: secrets, sink: sink)
            } catch let failure as ProviderFailure where failure.retryable && attempt < retries {
                attempt += 1
                let backoff = failure.status == 429 ? Duration.seconds(2 * attempt) : Duration.milliseconds(500 * (1 << attempt))
                let wait = min(failure.retryAfter ?? backoff, Self.longestRetryWait)
                self.logger.info("provider answered \(failure.status.map(String.init) ?? "no response"); retry \(attempt) in \(wait)")
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
        if text.contains("resolve") || text.contains("dns") || text.contains("nodename") { return "host not found" }
        if text.contains("tls") || text.contains("ssl") || text.contains("certificate") { return "TLS error" }
        if text.contains("reset") || text.contains("closed") { return "connection closed" }
        return "network error"
    }
}
