import AIChatCore

/// Username and password rules shared by registration, admin user creation and password changes.
enum AuthRules {
    static let usernameMessage = "Username must be 3-20 characters, letters, numbers, and underscores only"
    static let passwordMessage = "Password must be at least 8 characters with letters and numbers"
    static let newPasswordMessage = "New password must be at least 8 characters with letters and numbers"
    static let maxPasswordLength = 256
    /// bcrypt reads only the first 72 bytes of a password: two longer passwords sharing them would be interchangeable,
    /// so longer ones are refused rather than cut.
    static let maxPasswordBytes = 72
    static let passwordTooLongMessage =
        "Password must be at most 72 bytes (bcrypt reads no further); characters outside ASCII take 2 to 4 bytes each"

    static func checkPasswordLength(_ password: String) throws {
        guard password.utf8.count <= self.maxPasswordBytes else { throw APIError.badRequest(self.passwordTooLongMessage) }
    }

    /// Text safe to put in a log line: control and formatting characters (newlines, escape sequences, bidi
    /// overrides) written as `\u{…}`, so a crafted username cannot forge or hide log lines.
    static func loggable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(200) {
            switch scalar.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator:
                    result += "\\u{" + String(scalar.value, radix: 16) + "}"
                default:
                    result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func validUsername(_ username: String) -> Bool {
        (3...20).contains(username.count)
            && username.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    static func validPassword(_ password: String) -> Bool {
        password.count >= 8 && password.count <= self.maxPasswordLength
            && password.unicodeScalars.contains { $0.isASCII && $0.properties.isAlphabetic }
            && password.unicodeScalars.contains { ("0"..."9").contains($0) }
    }

    /// Reads and checks `username` and `password` from a registration-style body.
    static func credentials(_ body: JSONObject, passwordField: String = "password", message: String = passwordMessage) throws -> (String, String) {
        let username = try body.string("username")
        let password = try body.string(passwordField)
        guard self.validUsername(username) else { throw APIError.badRequest(self.usernameMessage) }
        try self.checkPasswordLength(password)
        guard self.validPassword(password) else { throw APIError.badRequest(message) }
        return (username, password)
    }
}
