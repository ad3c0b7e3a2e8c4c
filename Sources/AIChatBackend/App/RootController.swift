import AIChatCore
import Hummingbird

/// `GET /` and `GET /api`: what this server is and where its endpoints are.
struct RootController {
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/") { _, _ in
            JSONResponse.make(status: .ok, Root(message: "AI Chat Platform Backend API", version: AppInfo.version, docs: "/api/settings/health"))
        }
        router.get("/api") { _, _ in
            JSONResponse.make(status: .ok, Index(message: "AI Chat Platform API", endpoints: Self.endpoints))
        }
    }

    struct Root: Encodable {
        let success = true
        let message: String
        let version: String
        let docs: String
    }

    struct Index: Encodable {
        let success = true
        let message: String
        let endpoints: [String: [String: String]]
    }

    static let endpoints: [String: [String: String]] = [
        "auth": [
            "POST /api/auth/register": "用户注册",
            "POST /api/auth/login": "用户登录",
            "GET /api/auth/me": "当前用户信息",
            "PUT /api/auth/password": "修改密码",
            "POST /api/auth/logout": "退出登录",
        ],
        "users": [
            "GET /api/users": "用户列表（管理员）",
            "POST /api/users": "创建用户（管理员）",
            "GET /api/users/:id": "用户详情（管理员）",
            "PUT /api/users/:id/role": "修改角色（管理员）",
            "PUT /api/users/:id/password": "重置密码（管理员）",
            "DELETE /api/users/:id": "删除用户（管理员）",
        ],
        "settings": [
            "GET /api/settings/system": "系统设置（管理员）",
            "PUT /api/settings/system": "更新系统设置（管理员）",
            "GET /api/settings/public": "公开设置",
            "GET /api/settings/personal": "个人设置",
            "PUT /api/settings/personal": "更新个人设置",
            "GET /api/settings/app-info": "应用信息",
            "GET /api/settings/health": "健康检查",
        ],
    ]
}
