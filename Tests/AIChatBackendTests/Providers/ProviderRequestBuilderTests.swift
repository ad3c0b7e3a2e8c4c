import AIChatCore
import Foundation
import Testing

@testable import AIChatBackend

@Suite struct ProviderRequestBuilderTests {
    static let image = ImageAttachment(mime: "image/png", base64Data: "iVBORw0KGgo=")
    static let conversation = [
        ChatMessage(role: .system, text: "Be brief."),
        ChatMessage(role: .user, text: "Hi"),
        ChatMessage(role: .assistant, text: "Hello!"),
        ChatMessage(role: .user, text: "What is this?", images: [Self.image]),
    ]

    func builder(
        _ kind: ProviderKind, base: String, auth: AuthType = .bearer, key: String? = "sk-test-key-123", extra: [String: String] = [:]
    )
        -> ProviderRequestBuilder
    {
        ProviderRequestBuilder(ProviderEndpoint(kind: kind, baseURL: base, authType: auth, apiKey: key, extraHeaders: extra))
    }

    // MARK: OpenAI

    @Test func openAIStreamingRequest() throws {
        let options = GenerationOptions(
            model: "gpt-4o", temperature: 0.7, reasoningEnabled: true, reasoningEffort: .high, ollamaThink: true, maxTokens: 1000
        )
        let request = try self.builder(.openai, base: "https://api.openai.com/v1/").chat(Self.conversation, options: options, stream: true)
        #expect(request.method == .post)
        #expect(request.url == "https://api.openai.com/v1/chat/completions")
        #expect(request.responseFormat == .serverSentEvents)
        #expect(request.header("authorization") == "Bearer sk-test-key-123")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "text/event-stream")
        let expected = try json(
            #"""
            {"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"temperature":0.7,"reasoning_effort":"high",
             "max_completion_tokens":1000,
             "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},
               {"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
            """#
        )
        #expect(try request.jsonBody() == expected)
        #expect(!String(decoding: request.body, as: UTF8.self).contains("think"))
    }

    @Test func openAIOmitsWhatIsNotSet() throws {
        let options = GenerationOptions(model: "o3-mini", temperature: nil, reasoningEnabled: false, reasoningEffort: .low)
        let request = try self.builder(.openai, base: "http://localhost:8080/v1").chat(
            [ChatMessage(role: .user, text: "", images: [Self.image])], options: options, stream: false
        )
        let expected = try json(
            #"""
            {"model":"o3-mini","stream":false,
             "messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
            """#
        )
        #expect(try request.jsonBody() == expected)
        #expect(request.header("Accept") == "application/json")
        #expect(request.responseFormat == .json)
    }

    @Test func openAIListAndVerify() throws {
        let builder = self.builder(.openai, base: "https://api.openai.com/v1")
        for request in [try builder.listModels(), try builder.verify()] {
            #expect(request.method == .get)
            #expect(request.url == "https://api.openai.com/v1/models")
            #expect(request.body.isEmpty)
            #expect(request.header("Content-Type") == nil)
            #expect(request.header("Authorization") == "Bearer sk-test-key-123")
        }
    }

    // MARK: Azure

    @Test func azureUsesTheDeploymentURLAndTheApiKeyHeader() throws {
        let request = try self.builder(.azureOpenAI, base: "https://res.openai.azure.com/").chat(
            [ChatMessage(role: .user, text: "Hi")], options: GenerationOptions(model: "my deploy/gpt?4o"), stream: true
        )
        #expect(request.url == "https://res.openai.azure.com/openai/deployments/my%20deploy%2Fgpt%3F4o/chat/completions?api-version=2024-10-21")
        #expect(request.header("api-key") == "sk-test-key-123")
        #expect(request.header("Authorization") == nil)
        #expect(
            try request.jsonBody()
                == json(
                    #"{"model":"my deploy/gpt?4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}"#
                ))
    }

    @Test func azureVersionEntraTokenAndListing() throws {
        let endpoint = ProviderEndpoint(
            kind: .azureOpenAI, baseURL: "https://res.openai.azure.com/openai", authType: .microsoftEntraID, apiKey: "unused",
            azureAPIVersion: "2025-01-01-preview", azureAccessToken: "eyJ0eXAi.token"
        )
        let builder = ProviderRequestBuilder(endpoint)
        let chat = try builder.chat([ChatMessage(role: .user, text: "Hi")], options: GenerationOptions(model: "gpt-4o"), stream: false)
        #expect(chat.url == "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview")
        #expect(chat.header("Authorization") == "Bearer eyJ0eXAi.token")
        #expect(chat.header("api-key") == nil)
        #expect(try builder.listModels().url == "https://res.openai.azure.com/openai/models?api-version=2025-01-01-preview")
        #expect(try builder.verify().url == "https://res.openai.azure.com/openai/models?api-version=2025-01-01-preview")
    }

    // MARK: Ollama

    @Test func ollamaNativeChatRequest() throws {
        let options = GenerationOptions(model: "qwen3:8b", temperature: 0.2, reasoningEnabled: true, ollamaThink: true, maxTokens: 256)
        let request = try self.builder(.ollama, base: "http://127.0.0.1:11434", auth: .none).chat(Self.conversation, options: options, stream: true)
        #expect(request.url == "http://127.0.0.1:11434/api/chat")
        #expect(request.responseFormat == .ndjson)
        #expect(request.header("Accept") == "application/x-ndjson")
        #expect(request.header("Authorization") == nil)
        let expected = try json(
            #"""
            {"model":"qwen3:8b","stream":true,"think":true,"options":{"temperature":0.2,"num_predict":256},
             "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},
               {"role":"user","content":"What is this?","images":["iVBORw0KGgo="]}]}
            """#
        )
        #expect(try request.jsonBody() == expected)
    }

    @Test func ollamaSendsThinkOnlyWhenBothFlagsAreOn() throws {
        let builder = self.builder(.ollama, base: "http://ollama:11434", key: "proxy-token")
        for (enabled, think) in [(true, false), (false, true)] {
            let request = try builder.chat(
                [ChatMessage(role: .user, text: "Hi")], options: GenerationOptions(model: "llama3", reasoningEnabled: enabled, ollamaThink: think),
                stream: false
            )
            #expect(try request.jsonBody() == json(#"{"model":"llama3","stream":false,"messages":[{"role":"user","content":"Hi"}]}"#))
            #expect(request.header("Authorization") == "Bearer proxy-token")
        }
        #expect(try builder.listModels().url == "http://ollama:11434/api/tags")
        #expect(try builder.verify().url == "http://ollama:11434/api/version")
    }

    // MARK: Anthropic

    @Test func anthropicMessagesRequest() throws {
        let messages = [
            ChatMessage(role: .system, text: "Be brief."),
            ChatMessage(role: .system, text: "Answer in English."),
            ChatMessage(role: .user, text: "First"),
            ChatMessage(role: .user, text: "Second", images: [Self.image]),
            ChatMessage(role: .assistant, text: "   "),
            ChatMessage(role: .assistant, text: "Answer"),
            ChatMessage(role: .user, text: "Third"),
        ]
        let request = try self.builder(.anthropic, base: "https://api.anthropic.com").chat(
            messages, options: GenerationOptions(model: "claude-sonnet-4-5", temperature: 0.5), stream: true
        )
        #expect(request.url == "https://api.anthropic.com/v1/messages")
        #expect(request.header("x-api-key") == "sk-test-key-123")
        #expect(request.header("anthropic-version") == "2023-06-01")
        #expect(request.header("Authorization") == nil)
        let expected = try json(
            #"""
            {"model":"claude-sonnet-4-5","stream":true,"max_tokens":8192,"temperature":0.5,"system":"Be brief.\n\nAnswer in English.",
             "messages":[
               {"role":"user","content":[{"type":"text","text":"First"},
                 {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":"Second"}]},
               {"role":"assistant","content":[{"type":"text","text":"Answer"}]},
               {"role":"user","content":[{"type":"text","text":"Third"}]}]}
            """#
        )
        #expect(try request.jsonBody() == expected)
    }

    @Test func anthropicThinkingBudgetsKeepMaxTokensAboveTheBudget() throws {
        let builder = self.builder(.anthropic, base: "https://proxy.example.com/anthropic/v1")
        let cases: [(ReasoningEffort?, Int?, budget: Int, maxTokens: Int)] = [
            (.low, nil, 2048, 2048 + 8192),
            (nil, nil, 8192, 8192 + 8192),
            (.high, nil, 16384, 16384 + 8192),
            (.high, 32000, 16384, 32000),
            (.medium, 4000, 2976, 4000),
            (.low, 1500, 1024, 2048),
        ]
        for (effort, maxTokens, budget, total) in cases {
            let options = GenerationOptions(model: "claude", temperature: 0.3, reasoningEnabled: true, reasoningEffort: effort, maxTokens: maxTokens)
            let request = try builder.chat([ChatMessage(role: .user, text: "Hi")], options: options, stream: false)
            #expect(request.url == "https://proxy.example.com/anthropic/v1/messages")
            guard case .object(let body) = try request.jsonBody() else {
                Issue.record("not an object")
                continue
            }
            #expect(body["thinking"] == .object(["type": .string("enabled"), "budget_tokens": .number(Double(budget))]))
            #expect(body["max_tokens"] == .number(Double(total)))
            #expect(body["temperature"] == nil)
        }
        #expect(try builder.listModels().url == "https://proxy.example.com/anthropic/v1/models?limit=1000")
    }

    // MARK: Gemini

    @Test func geminiRequestsKeepTheKeyOutOfTheURL() throws {
        let key = "AIzaSyD-example-key-000000000000000"
        let builder = self.builder(.google, base: "https://generativelanguage.googleapis.com", key: key)
        let options = GenerationOptions(model: "gemini-2.5-flash", temperature: 1, reasoningEnabled: true, maxTokens: 2048)
        let stream = try builder.chat(Self.conversation, options: options, stream: true)
        #expect(stream.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(stream.header("x-goog-api-key") == key)
        #expect(stream.header("Authorization") == nil)
        let expected = try json(
            #"""
            {"systemInstruction":{"parts":[{"text":"Be brief."}]},
             "generationConfig":{"temperature":1,"maxOutputTokens":2048,"thinkingConfig":{"includeThoughts":true}},
             "contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello!"}]},
               {"role":"user","parts":[{"inline_data":{"mime_type":"image/png","data":"iVBORw0KGgo="}},{"text":"What is this?"}]}]}
            """#
        )
        #expect(try stream.jsonBody() == expected)
        let whole = try builder.chat(
            [ChatMessage(role: .user, text: "Hi")], options: GenerationOptions(model: "models/gemini-2.0-flash"), stream: false)
        #expect(whole.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent")
        #expect(try whole.jsonBody() == json(#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#))
        let list = try builder.listModels()
        #expect(list.url == "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000")
        for request in [stream, whole, list] {
            #expect(!request.url.contains(key))
            #expect(!request.url.contains("key="))
        }
    }

    // MARK: Headers and validation

    @Test func extraHeadersComeLastAndMayOverride() throws {
        let request = try self.builder(
            .openai, base: "https://gateway.example.com/v1",
            extra: ["X-Team": "blue", "authorization": "Bearer from-extra", "Content-Length": "1", "Accept": "*/*"]
        ).chat([ChatMessage(role: .user, text: "Hi")], options: GenerationOptions(model: "m"), stream: true)
        #expect(request.header("Authorization") == "Bearer from-extra")
        #expect(request.header("Accept") == "*/*")
        #expect(request.header("Content-Length") == nil)
        #expect(request.headers.map(\.name) == ["Content-Type", "Accept", "X-Team", "authorization"])
    }

    @Test func headersWithLineBreaksAreRefused() {
        let chat = { (builder: ProviderRequestBuilder) throws(ProviderError) in
            _ = try builder.chat([ChatMessage(role: .user, text: "Hi")], options: GenerationOptions(model: "m"), stream: true)
        }
        #expect(throws: ProviderError.invalidHeader(name: "X-Evil")) {
            try chat(self.builder(.openai, base: "https://a.example", extra: ["X-Evil": "a\r\nHost: b"]))
        }
        #expect(throws: ProviderError.invalidHeader(name: "Bad Name")) {
            try chat(self.builder(.openai, base: "https://a.example", extra: ["Bad Name": "x"]))
        }
        #expect(throws: ProviderError.invalidCredential) {
            try chat(self.builder(.anthropic, base: "https://a.example", key: "sk-ant\nX-Other: 1"))
        }
    }

    @Test func keysAreTrimmedAndEmptyKeysSendNoHeader() throws {
        let trimmed = try self.builder(.openai, base: "https://a.example", key: "  sk-abc\n").listModels()
        #expect(trimmed.header("Authorization") == "Bearer sk-abc")
        let empty = try self.builder(.openai, base: "https://a.example", key: "").listModels()
        #expect(empty.header("Authorization") == nil)
        let session = try self.builder(.openai, base: "https://a.example", auth: .session).listModels()
        #expect(session.header("Authorization") == nil)
        let oauth = try ProviderRequestBuilder(
            ProviderEndpoint(kind: .openai, baseURL: "https://a.example", authType: .systemOAuth, apiKey: "ignored", systemOAuthToken: "sys-token")
        ).listModels()
        #expect(oauth.header("Authorization") == "Bearer sys-token")
    }

    @Test func badBaseURLsAndMissingModelsAreRefused() throws {
        for base in [
            "", "not a url", "ftp://files.example.com", "https://", "https://a.example/v1?key=x", "https://a.example/#x", "https://a\u{0}b.example",
        ] {
            // Twice: the second verdict comes from the kept ones.
            for _ in 0..<2 {
                #expect(throws: ProviderError.invalidBaseURL, "\(base)") { try self.builder(.openai, base: base).listModels() }
            }
        }
        for _ in 0..<2 {
            #expect(try self.builder(.openai, base: "https://a.example/v1").listModels().url == "https://a.example/v1/models")
        }
        #expect(throws: ProviderError.invalidRequest("no model selected")) {
            try self.builder(.openai, base: "https://a.example").chat([], options: GenerationOptions(model: "  "), stream: true)
        }
    }

    @Test func descriptionsNeverShowTheKey() throws {
        let endpoint = ProviderEndpoint(kind: .anthropic, baseURL: "https://api.anthropic.com", apiKey: "sk-ant-secret-value")
        let request = try ProviderRequestBuilder(endpoint).listModels()
        for text in [String(describing: endpoint), String(reflecting: endpoint), "\(request)", String(reflecting: request)] {
            #expect(!text.contains("sk-ant-secret-value"), "\(text)")
        }
    }
}
