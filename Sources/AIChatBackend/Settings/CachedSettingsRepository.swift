/// Keeps each user's personal settings for a moment: the context limit is read for every message sent, and the
/// settings change rarely.
///
/// A change made through this repository drops the user's entry at once; several replicas sharing one database
/// see another replica's change after at most `lifetime`. System settings pass through (they have their own cache
/// in ``SystemSettingsService``).
public final class CachedSettingsRepository: SettingsRepository {
    let base: any SettingsRepository
    private let cache: ShortLivedCache<Int, [String: String]>

    public init(_ base: any SettingsRepository, lifetime: Duration = .seconds(2), capacity: Int = 10_000) {
        self.base = base
        self.cache = ShortLivedCache(lifetime: lifetime, capacity: capacity)
    }

    public func systemRows() async throws -> [String: String] { try await self.base.systemRows() }
    public func updateSystem(_ changes: [String: String?]) async throws { try await self.base.updateSystem(changes) }

    public func userSettings(userId: Int) async throws -> [String: String] {
        try await self.cache.value(for: userId) { try await self.base.userSettings(userId: userId) } ?? [:]
    }

    public func updateUserSettings(userId: Int, _ changes: [String: String?]) async throws {
        try await self.cache.changing(userId) { try await self.base.updateUserSettings(userId: userId, changes) }
    }
}
