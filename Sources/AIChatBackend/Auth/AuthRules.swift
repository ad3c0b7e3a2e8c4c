import AIChatCore

/// Username and password rules shared by registration, admin user creation and password changes.
enum AuthRules {
    static let usernameMessage = "Username must be 3-20 characters, letters, numbers, and underscores only"
    static let passwordMessage = "Password must be at least 8 characters with letters and numbers"
    static let newPasswordMessage = "New password must be at least 8 characters with letters and numbers"
    static let maxPasswordLength = 256

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
        guard self.validPassword(password) else { throw APIError.badRequest(message) }
        return (username, password)
    }
}
