import Foundation
import Testing

@testable import AIChatBackend

@Suite struct ProviderResponseParserTests {
    func data(_ text: String) -> Data { Data(text.utf8) }

    @Test func openAICompletion() throws {
        let body = #"""
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"deepseek-reasoner",
             "choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Six times seven."},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}
            """#
        let completion = try ProviderResponseParser.completion(kind: .openai, body: self.data(body))
        #expect(
            completion
                == ProviderCompletion(
                    text: "42", reasoning: "Six times seven.", finishReason: "stop", usage: ProviderUsage(prompt: 10, completion: 20)))
        let noUsage = try ProviderResponseParser.completion(
            kind: .azureOpenAI, body: self.data(#"{"choices":[{"message":{"content":null},"finish_reason":"content_filter"}]}"#)
        )
        #expect(noUsage == ProviderCompletion(text: "", finishReason: "content_filter"))
    }

    @Test func ollamaCompletion() throws {
        let body =
            #"{"model":"qwen3","message":{"role":"assistant","content":"Hi!","thinking":"Greet back."},"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count":8}"#
        let completion = try ProviderResponseParser.completion(kind: .ollama, body: self.data(body))
        #expect(
            completion
                == ProviderCompletion(text: "Hi!", reasoning: "Greet back.", finishReason: "stop", usage: ProviderUsage(prompt: 12, completion: 8)))
    }

    @Test func anthropicCompletion() throws {
        let body = #"""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
             "content":[{"type":"thinking","thinking":"Consider it.","signature":"sig"},{"type":"text","text":"Part one. "},{"type":"text","text":"Part two."}],
             "stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":30,"cache_read_input_tokens":5,"output_tokens":100}}
            """#
        let completion = try ProviderResponseParser.completion(kind: .anthropic, body: self.data(body))
        #expect(
            completion
                == ProviderCompletion(
                    text: "Part one. Part two.", reasoning: "Consider it.", finishReason: "length", usage: ProviderUsage(prompt: 35, completion: 100))
        )
    }

    @Test func geminiCompletion() throws {
        let body = #"""
            {"candidates":[{"content":{"parts":[{"text":"Planning.","thought":true},{"text":"Done."}],"role":"model"},"finishReason":"STOP","index":0}],
             "usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"thoughtsTokenCount":10,"totalTokenCount":16}}
            """#
        let completion = try ProviderResponseParser.completion(kind: .google, body: self.data(body))
        #expect(
            completion
                == ProviderCompletion(
                    text: "Done.", reasoning: "Planning.", finishReason: "stop", usage: ProviderUsage(prompt: 4, completion: 12, total: 16)))
        let blocked = try ProviderResponseParser.completion(kind: .google, body: self.data(#"{"promptFeedback":{"blockReason":"SAFETY"}}"#))
        #expect(blocked == ProviderCompletion(text: "", finishReason: "safety"))
    }

    @Test func errorsAndUnreadableAnswersThrow() {
        #expect(throws: ProviderError.upstream(status: nil, message: "Invalid model")) {
            try ProviderResponseParser.completion(
                kind: .openai, body: self.data(#"{"error":{"message":"Invalid model","type":"invalid_request_error"}}"#))
        }
        #expect(throws: ProviderError.upstream(status: nil, message: "model not found")) {
            try ProviderResponseParser.completion(kind: .ollama, body: self.data(#"{"error":"model not found"}"#))
        }
        #expect(throws: ProviderError.malformedResponse("the body is not the expected JSON")) {
            try ProviderResponseParser.completion(kind: .anthropic, body: self.data("<html>Bad gateway</html>"))
        }
        #expect(throws: ProviderError.malformedResponse("the answer has no choices")) {
            try ProviderResponseParser.completion(kind: .openai, body: self.data("{}"))
        }
    }

    @Test func modelLists() throws {
        let openAI =
            #"{"object":"list","data":[{"id":"gpt-4o","object":"model","owned_by":"openai"},{"id":"my-model","name":"My Model"},{"id":"gpt-4o"},{"object":"model"}]}"#
        #expect(
            try ProviderResponseParser.models(kind: .openai, body: self.data(openAI)) == [
                ProviderModel(id: "gpt-4o", name: "gpt-4o"), ProviderModel(id: "my-model", name: "My Model"),
            ]
        )
        let ollama =
            #"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","size":2019393189},{"name":"Qwen","model":"qwen3:8b"},{"name":"only-name"}]}"#
        #expect(
            try ProviderResponseParser.models(kind: .ollama, body: self.data(ollama)) == [
                ProviderModel(id: "llama3.2:latest", name: "llama3.2:latest"), ProviderModel(id: "qwen3:8b", name: "Qwen"),
                ProviderModel(id: "only-name", name: "only-name"),
            ]
        )
        let anthropic =
            #"{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false}"#
        #expect(
            try ProviderResponseParser.models(kind: .anthropic, body: self.data(anthropic)) == [
                ProviderModel(id: "claude-sonnet-4-5", name: "Claude Sonnet 4.5")
            ])
        let gemini = #"""
            {"models":[
              {"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash","supportedGenerationMethods":["generateContent","countTokens"]},
              {"name":"models/text-embedding-004","displayName":"Text Embedding 004","supportedGenerationMethods":["embedContent"]},
              {"name":"models/gemini-exp"}],
             "nextPageToken":"x"}
            """#
        #expect(
            try ProviderResponseParser.models(kind: .google, body: self.data(gemini)) == [
                ProviderModel(id: "gemini-2.5-flash", name: "Gemini 2.5 Flash"), ProviderModel(id: "gemini-exp", name: "gemini-exp"),
            ]
        )
        #expect(try ProviderResponseParser.models(kind: .openai, body: self.data(#"[{"id":"bare"}]"#)) == [ProviderModel(id: "bare", name: "bare")])
        #expect(throws: ProviderError.malformedResponse("the body is not the expected JSON")) {
            try ProviderResponseParser.models(kind: .openai, body: self.data("oops"))
        }
    }

    @Test func errorBodiesOfEveryProviderAreRead() {
        let cases: [(String, String?)] = [
            (
                #"{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
                "Incorrect API key provided: sk-abc***xyz."
            ),
            (#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#, "invalid x-api-key"),
            (
                #"[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}]"#,
                "API key not valid. Please pass a valid API key."
            ),
            (#"{"error":"model \"x\" not found"}"#, "model \"x\" not found"),
            (#"{"detail":"Not Found"}"#, "Not Found"),
            (#"{"error":{"code":"429"}}"#, "429"),
            ("upstream connect error\nmore", "upstream connect error"),
            ("<html><body>502 Bad Gateway</body></html>", nil),
            ("", nil),
        ]
        for (body, message) in cases {
            #expect(ProviderResponseParser.errorMessage(self.data(body)) == message, "\(body)")
        }
        #expect(ProviderResponseParser.error(status: 502, body: self.data("<html/>")) == .upstream(status: 502, message: ""))
    }
}

@Suite struct ProviderErrorTests {
    @Test func publicMessagesNameTheStatusAndTheProvidersReason() {
        #expect(ProviderError.upstream(status: 401, message: "").publicMessage == "AI API request failed: 401 Unauthorized")
        #expect(ProviderError.upstream(status: 429, message: "Slow down").publicMessage == "AI API request failed: 429 Too Many Requests: Slow down")
        #expect(ProviderError.upstream(status: nil, message: "Overloaded").publicMessage == "AI provider error: Overloaded")
        #expect(ProviderError.upstream(status: 503, message: "").isRetryable)
        #expect(!ProviderError.upstream(status: 400, message: "").isRetryable)
    }

    @Test func publicMessagesNeverCarryKeysOrQueryStrings() {
        let leaky = ProviderError.upstream(
            status: 400,
            message:
                "Key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx rejected for https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyExample123 (api_key=abc123)"
        )
        let message = leaky.publicMessage
        for secret in ["sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "AIzaSyExample123", "abc123"] {
            #expect(!message.contains(secret), "\(message)")
        }
        #expect(
            message.hasPrefix(
                "AI API request failed: 400 Bad Request: Key *** rejected for https://generativelanguage.googleapis.com/v1beta/models?…"))
        let multiline = ProviderError.upstream(status: nil, message: "Refused:\nsk-live-0123456789abcdefghij\r\nretry later")
        #expect(multiline.publicMessage == "AI provider error: Refused: *** retry later")
        let custom = ProviderError.upstream(status: nil, message: "token my-internal-token-value was refused")
        #expect(custom.publicMessage(redacting: ["my-internal-token-value"]) == "AI provider error: token *** was refused")
        let long = ProviderError.upstream(status: nil, message: String(repeating: "x ", count: 1_000) + "\u{7}")
        #expect(long.publicMessage.count < 600)
    }
}
