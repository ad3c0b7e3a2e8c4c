import Testing

@testable import AIChatBackend

@Suite struct TokenEstimatorTests {
    /// Sample texts with their token counts under `o200k_base`, measured offline with a reference implementation of
    /// the tokenizer. The estimate must stay within ±15%.
    static let samples: [(name: String, text: String, o200k: Int)] = [
        (
            "English prose",
            "When you keep a notebook for a long project, the first pages fill quickly with plans and the later ones with small corrections. Looking back after a few months, the corrections usually tell you more about what went wrong than the plans ever did, because they record what you actually learned along the way.",
            59
        ),
        (
            "English question",
            "Could you explain the difference between a process and a thread, and when I should prefer one over the other? I'm writing a small web server and I'm not sure which model to use.",
            37
        ),
        (
            "Swift code",
            """
            struct Counter {
                private(set) var value = 0

                mutating func increment(by step: Int = 1) {
                    value += step
                }
            }

            var counter = Counter()
            for _ in 0..<10 { counter.increment() }
            print("Counted to \\(counter.value)")

            """,
            61
        ),
        (
            "Python code",
            """
            def merge_sorted(left, right):
                result = []
                i = j = 0
                while i < len(left) and j < len(right):
                    if left[i] <= right[j]:
                        result.append(left[i]); i += 1
                    else:
                        result.append(right[j]); j += 1
                return result + left[i:] + right[j:]

            """,
            77
        ),
        (
            "JSON",
            #"{"id": 1842, "user": {"name": "Maria Lopez", "email": "maria@example.org"}, "items": [{"sku": "A-100", "qty": 2, "price": 19.99}, {"sku": "B-220", "qty": 1, "price": 5.5}], "paid": true}"#,
            78
        ),
        (
            "Markdown",
            """
            ## Release checklist

            1. Update the **version number** in `Package.swift`.
            2. Run the full test suite and fix any failures.
            3. Tag the release: `git tag v1.4.0`.

            | Step | Owner | Done |
            |------|-------|------|
            | Build | Ana | yes |
            | Docs | Li | no |

            """,
            73
        ),
        ("Chinese", "今天下午我们在会议室讨论了新版本的发布计划。大家一致认为，在正式上线之前，需要先完成性能测试，并且把用户反馈中提到的几个问题修复好。如果一切顺利，下周三就可以发布。", 52),
        ("Japanese", "昨日は雨が降っていたので、一日中家で本を読んでいました。夕方になって少し晴れてきたので、近くの公園まで散歩に行きました。空気がとても気持ちよかったです。", 57),
        ("Korean", "오늘은 날씨가 좋아서 친구와 함께 한강 공원에 갔습니다. 자전거를 빌려서 한 시간 정도 탔고, 저녁에는 근처 식당에서 맛있는 음식을 먹었습니다.", 49),
        (
            "Russian",
            "Вчера вечером мы собрались у друзей, чтобы обсудить планы на лето. Кто-то предложил поехать на море, а кто-то хотел остаться в городе и заняться ремонтом квартиры.",
            42
        ),
        (
            "German",
            "Nach dem Frühstück sind wir mit dem Zug in die Berge gefahren. Die Aussicht war großartig, aber der Weg zur Hütte war länger und steiler, als wir erwartet hatten.",
            36
        ),
        ("Emoji", "Happy birthday! 🎉🎂 Hope you have an amazing day 😊 Can't wait to celebrate with you this weekend 🥳🍕🎈 See you soon! ❤️", 34),
        ("Chinese and English", "我们的 API 服务使用 Swift 编写，部署在 Docker 容器里。请求先经过 nginx 反向代理，然后转发到 backend 的 8001 端口。日志级别可以通过 LOG_LEVEL 环境变量配置。", 49),
        (
            "Log output",
            """
            2024-05-12 10:31:07 INFO  server started on 0.0.0.0:8001
            2024-05-12 10:31:09 WARN  slow query (1532 ms): SELECT * FROM messages WHERE session_id = 42
            2024-05-12 10:31:12 ERROR upstream timeout after 60000 ms (provider=openai, model=gpt-4o)

            """,
            93
        ),
    ]

    @Test(arguments: Self.samples.map { $0.name })
    func estimatesTrackO200k(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        let estimate = TokenEstimator.count(sample.text)
        let error = Double(estimate - sample.o200k) / Double(sample.o200k)
        #expect(abs(error) <= 0.15, "\(name): estimated \(estimate), o200k \(sample.o200k)")
    }

    /// Short strings whose o200k counts are certain (one token per common word or symbol).
    @Test func shortTextsAreExact() {
        #expect(TokenEstimator.count("") == 0)
        #expect(TokenEstimator.count("user") == 1)
        #expect(TokenEstimator.count("assistant") == 1)
        #expect(TokenEstimator.count("system") == 1)
        #expect(TokenEstimator.count("hello world") == 2)
        #expect(TokenEstimator.count("Hello, world! How are you today?") == 9)
        #expect(TokenEstimator.count("The quick brown fox jumps over the lazy dog.") == 10)
        #expect(TokenEstimator.count("1234567890") == 4)
    }

    @Test func messageAndPromptCostsFollowTheChatFormat() {
        #expect(TokenEstimator.messageCost(role: "user", content: "hello world") == 4 + 2 + 1)
        let prompt = [ChatMessage(role: .user, text: "hello world"), ChatMessage(role: .assistant, text: "")]
        #expect(TokenEstimator.promptCost(prompt) == 3 + (4 + 2 + 1) + (4 + 0 + 1))
    }

    @Test func longAndUnusualInputIsHandled() {
        let long = String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 2_000)
        // 20,001 tokens with o200k.
        let count = TokenEstimator.count(long)
        #expect(abs(count - 20_001) <= 3_000)
        #expect(TokenEstimator.count("\u{0301}\u{200D}\u{FE0F}") >= 1)
        #expect(TokenEstimator.count("   \n\t\r\n  ") >= 1)
    }
}
