import Foundation

/// What decoding one streamed chunk costs with the project's JSON reader (``JSONParser`` and ``JSONValueDecoder``) and
/// with Foundation's `JSONDecoder`, decoding the same `Decodable` chunk types (`aichat-bench --json`, release build).
/// The figures decide which of the two the decoders use.
public enum ChunkDecodingBenchmark {
    public struct Figure: Sendable {
        public let name: String
        public let microsecondsPerEvent: Double
    }

    /// Decodes `events` typical OpenAI content chunks with each decoder; a warm-up round comes first.
    public static func run(events: Int = 200_000) -> [Figure] {
        let payloads: [[UInt8]] = (0..<64).map { index in
            Array(
                (#"{"id":"chatcmpl-\#(index)","object":"chat.completion.chunk","created":1733560000,"model":"gpt-test","#
                    + #""choices":[{"index":0,"delta":{"content":"w\#(index) "},"logprobs":null,"finish_reason":null}]}"#).utf8)
        }
        let decoder = JSONDecoder()
        let own: ([UInt8]) -> Bool = { ProviderJSON.decode(OpenAIChunk.self, from: $0)?.choices?.first?.delta?.content != nil }
        let foundation: ([UInt8]) -> Bool = { bytes in
            (try? decoder.decode(OpenAIChunk.self, from: Data(bytes)))?.choices?.first?.delta?.content != nil
        }
        func measure(_ decode: ([UInt8]) -> Bool, _ count: Int) -> Double {
            var decoded = 0
            let start = ContinuousClock.now
            for index in 0..<count where decode(payloads[index & 63]) { decoded += 1 }
            let (seconds, attoseconds) = start.duration(to: .now).components
            precondition(decoded == count, "a chunk did not decode")
            return (Double(seconds) + Double(attoseconds) / 1e18) * 1e6 / Double(count)
        }
        _ = measure(own, events / 10)
        _ = measure(foundation, events / 10)
        return [
            Figure(name: "project JSON reader", microsecondsPerEvent: measure(own, events)),
            Figure(name: "Foundation JSONDecoder", microsecondsPerEvent: measure(foundation, events)),
        ]
    }
}
