/// Product name and version reported by the health and info endpoints of both servers.
public enum AppInfo {
    public static let name = "AI Chat Platform"
    public static let version = "v2.0.0"
}
