import Crypto
import Foundation
import _CryptoExtras

/// Encrypts provider API keys at rest.
///
/// New values are AES-256-GCM with a key derived (HKDF-SHA256) from `ENCRYPTION_KEY`, stored as
/// `v2:` + Base64(nonce ‖ ciphertext ‖ tag). Values written by the original (OpenSSL "Salted__" format:
/// EVP_BytesToKey with MD5, AES-256-CBC) are still read, with the configured passphrase or the original's
/// public default, so a database carried over keeps working.
public struct SecretCipher: Sendable {
    public static let originalDefaultPassphrase = "aichat-encryption-key-2025"
    static let prefix = "v2:"

    private let key: SymmetricKey
    private let legacyPassphrases: [String]

    public init(encryptionKey: String) {
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(encryptionKey.utf8)),
            info: Data("aichat api-key encryption v2".utf8),
            outputByteCount: 32
        )
        var passphrases = [encryptionKey]
        if encryptionKey != Self.originalDefaultPassphrase { passphrases.append(Self.originalDefaultPassphrase) }
        self.legacyPassphrases = passphrases
    }

    public enum Failure: Error, Equatable {
        case undecryptable
    }

    public func encrypt(_ plaintext: String) throws -> String {
        let sealed = try AES.GCM.seal(Data(plaintext.utf8), using: self.key)
        guard let combined = sealed.combined else { throw Failure.undecryptable }
        return Self.prefix + combined.base64EncodedString()
    }

    /// Decrypts either format; an empty stored value is an empty key.
    public func decrypt(_ stored: String) throws(Failure) -> String {
        if stored.isEmpty { return "" }
        if stored.hasPrefix(Self.prefix) {
            guard let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))),
                let box = try? AES.GCM.SealedBox(combined: combined),
                let plain = try? AES.GCM.open(box, using: self.key),
                let text = String(data: plain, encoding: .utf8)
            else { throw .undecryptable }
            return text
        }
        for passphrase in self.legacyPassphrases {
            if let text = Self.decryptLegacy(stored, passphrase: passphrase) { return text }
        }
        throw .undecryptable
    }

    /// Whether a stored value uses the original's format (and should be re-encrypted when next written).
    public static func isLegacy(_ stored: String) -> Bool {
        !stored.isEmpty && !stored.hasPrefix(Self.prefix)
    }

    static func decryptLegacy(_ stored: String, passphrase: String) -> String? {
        guard let raw = Data(base64Encoded: stored), raw.count >= 16 + 16, (raw.count - 16) % 16 == 0,
            raw.prefix(8) == Data("Salted__".utf8)
        else { return nil }
        let salt = raw[raw.startIndex + 8..<raw.startIndex + 16]
        let ciphertext = raw[(raw.startIndex + 16)...]
        let (key, iv) = self.evpBytesToKey(passphrase: Data(passphrase.utf8), salt: Data(salt))
        guard let ivValue = try? AES._CBC.IV(ivBytes: iv),
            let plain = try? AES._CBC.decrypt(ciphertext, using: SymmetricKey(data: key), iv: ivValue),
            let text = String(data: plain, encoding: .utf8)
        else { return nil }
        return text
    }

    /// OpenSSL's EVP_BytesToKey with MD5 and one iteration: 32 key bytes and 16 IV bytes.
    static func evpBytesToKey(passphrase: Data, salt: Data) -> (key: Data, iv: Data) {
        var derived = Data()
        var block = Data()
        while derived.count < 48 {
            var hasher = Insecure.MD5()
            hasher.update(data: block)
            hasher.update(data: passphrase)
            hasher.update(data: salt)
            block = Data(hasher.finalize())
            derived.append(block)
        }
        return (derived.prefix(32), derived[derived.startIndex + 32..<derived.startIndex + 48])
    }

    /// Writes a value in the original's format; used by tests to build legacy fixtures.
    static func encryptLegacy(_ plaintext: String, passphrase: String, salt: Data) throws -> String {
        let (key, iv) = self.evpBytesToKey(passphrase: Data(passphrase.utf8), salt: salt)
        let ciphertext = try AES._CBC.encrypt(Data(plaintext.utf8), using: SymmetricKey(data: key), iv: AES._CBC.IV(ivBytes: iv))
        return (Data("Salted__".utf8) + salt + ciphertext).base64EncodedString()
    }
}
