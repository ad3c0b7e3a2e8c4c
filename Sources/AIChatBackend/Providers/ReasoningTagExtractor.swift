import Foundation

/// Splits streamed answer text into visible text and reasoning marked with tags such as `<think>…</think>`.
///
/// A streaming state machine over UTF-8 bytes: outside reasoning it looks for the earliest opening tag of any
/// pair, inside it looks only for that pair's closing tag; tags are dropped from the output. A tag split across
/// deltas is still recognised: when a delta ends with the beginning of a tag, up to (longest tag − 1) bytes are
/// held back and joined to the next delta; ``finish()`` releases them. Matching whole tags on UTF-8 bytes only
/// ever cuts at character boundaries, so every piece is valid text.
///
/// ``Piece/reasoningEnded`` marks the closing tag, so the caller can stop the reasoning clock there rather
/// than at the end of the answer.
public struct ReasoningTagExtractor: Sendable {
    public struct TagPair: Sendable, Equatable {
        public var open: String
        public var close: String

        public init(open: String, close: String) {
            self.open = open
            self.close = close
        }
    }

    public enum Piece: Sendable, Equatable {
        case content(String)
        case reasoning(String)
        /// A closing tag was read (or the answer ended inside reasoning).
        case reasoningEnded
    }

    /// The original's list, in its order.
    public static let defaultTags: [TagPair] = [
        TagPair(open: "<think>", close: "</think>"),
        TagPair(open: "<thinking>", close: "</thinking>"),
        TagPair(open: "<reason>", close: "</reason>"),
        TagPair(open: "<reasoning>", close: "</reasoning>"),
        TagPair(open: "<thought>", close: "</thought>"),
        TagPair(open: "<Thought>", close: "</Thought>"),
        TagPair(open: "<|begin_of_thought|>", close: "<|end_of_thought|>"),
        TagPair(open: "◁think▷", close: "◁/think▷"),
    ]

    /// Tags longer than this are not accepted as a custom pair.
    public static let maxCustomTagLength = 64

    /// Extraction off: every delta is visible text.
    public static var passThrough: ReasoningTagExtractor { ReasoningTagExtractor(tags: []) }

    private let tags: [(open: [UInt8], close: [UInt8])]
    private let maxTagLength: Int
    /// The pair whose closing tag is awaited, when inside reasoning.
    private var inside: Int?
    /// The held-back end of the previous delta: the beginning of a tag.
    private var carry: [UInt8] = []

    public init(tags: [TagPair]) {
        // Every answer with reasoning display on starts an extractor with the default list: it shares one table.
        self.tags = tags == Self.defaultTags ? Self.defaultTable : Self.table(tags)
        self.maxTagLength = self.tags.map { max($0.open.count, $0.close.count) }.max() ?? 0
    }

    private static let defaultTable = table(defaultTags)

    private static func table(_ tags: [TagPair]) -> [(open: [UInt8], close: [UInt8])] {
        tags.filter { !$0.open.isEmpty && !$0.close.isEmpty }.map { (Array($0.open.utf8), Array($0.close.utf8)) }
    }

    /// From the settings' form: `mode` is `default`, `custom` or `off`; `customTags` is a JSON array of two strings.
    /// A custom mode without a valid pair falls back to the default list, as the original does.
    public init(mode: String, customTags: String?) {
        switch mode {
            case "off":
                self.init(tags: [])
            case "custom":
                if let pair = Self.customPair(customTags) {
                    self.init(tags: [pair])
                } else {
                    self.init(tags: Self.defaultTags)
                }
            default:
                self.init(tags: Self.defaultTags)
        }
    }

    /// A valid custom pair from its JSON form, or nil.
    public static func customPair(_ json: String?) -> TagPair? {
        guard let data = json?.data(using: .utf8), let values = try? JSONDecoder().decode([String].self, from: data), values.count == 2,
            values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= Self.maxCustomTagLength })
        else { return nil }
        return TagPair(open: values[0], close: values[1])
    }

    public var isInsideReasoning: Bool { self.inside != nil }

    /// The pieces of one delta, in order. Text held back as a possible tag start comes out with a later delta.
    public mutating func split(_ text: String) -> [Piece] {
        guard !self.tags.isEmpty else { return text.isEmpty ? [] : [.content(text)] }
        var buffer = self.carry
        buffer.append(contentsOf: text.utf8)
        self.carry = []
        var pieces: [Piece] = []
        var position = 0
        while position < buffer.count {
            if let pair = self.inside {
                let close = self.tags[pair].close
                if let found = Self.find(close, in: buffer, from: position) {
                    Self.append(.reasoning, buffer[position..<found], to: &pieces)
                    pieces.append(.reasoningEnded)
                    position = found + close.count
                    self.inside = nil
                } else {
                    let kept = self.partialTagLength(buffer, from: position, candidates: [close])
                    Self.append(.reasoning, buffer[position..<(buffer.count - kept)], to: &pieces)
                    self.carry = Array(buffer[(buffer.count - kept)...])
                    position = buffer.count
                }
            } else if let (found, pair) = self.findOpening(in: buffer, from: position) {
                Self.append(.content, buffer[position..<found], to: &pieces)
                position = found + self.tags[pair].open.count
                self.inside = pair
            } else {
                let kept = self.partialTagLength(buffer, from: position, candidates: self.tags.map(\.open))
                Self.append(.content, buffer[position..<(buffer.count - kept)], to: &pieces)
                self.carry = Array(buffer[(buffer.count - kept)...])
                position = buffer.count
            }
        }
        return pieces
    }

    /// Releases held-back text at the end of the answer; an unterminated reasoning block ends here.
    public mutating func finish() -> [Piece] {
        var pieces: [Piece] = []
        let rest = self.carry[...]
        self.carry = []
        if self.inside != nil {
            Self.append(.reasoning, rest, to: &pieces)
            pieces.append(.reasoningEnded)
            self.inside = nil
        } else {
            Self.append(.content, rest, to: &pieces)
        }
        return pieces
    }

    // MARK: Matching

    private enum Kind {
        case content
        case reasoning
    }

    private static func append(_ kind: Kind, _ bytes: ArraySlice<UInt8>, to pieces: inout [Piece]) {
        guard !bytes.isEmpty else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        switch kind {
            case .content: pieces.append(.content(text))
            case .reasoning: pieces.append(.reasoning(text))
        }
    }

    private static func find(_ tag: [UInt8], in buffer: [UInt8], from start: Int) -> Int? {
        guard let first = tag.first, buffer.count - start >= tag.count else { return nil }
        var index = start
        let last = buffer.count - tag.count
        while index <= last {
            if buffer[index] == first, Self.matches(tag, in: buffer, at: index) { return index }
            index += 1
        }
        return nil
    }

    private static func matches(_ tag: [UInt8], in buffer: [UInt8], at index: Int) -> Bool {
        guard buffer.count - index >= tag.count else { return false }
        for offset in 0..<tag.count where buffer[index + offset] != tag[offset] { return false }
        return true
    }

    /// The earliest opening tag at or after `start`; at one position the longest tag wins.
    private func findOpening(in buffer: [UInt8], from start: Int) -> (Int, Int)? {
        var index = start
        while index < buffer.count {
            var best: Int?
            for (pair, tag) in self.tags.enumerated() where tag.open[0] == buffer[index] && Self.matches(tag.open, in: buffer, at: index) {
                if best.map({ self.tags[$0].open.count < tag.open.count }) ?? true { best = pair }
            }
            if let best { return (index, best) }
            index += 1
        }
        return nil
    }

    /// How many trailing bytes (at most longest tag − 1) form the beginning of one of `candidates`.
    private func partialTagLength(_ buffer: [UInt8], from start: Int, candidates: [[UInt8]]) -> Int {
        let available = buffer.count - start
        var length = min(self.maxTagLength - 1, available)
        while length > 0 {
            let suffix = buffer[(buffer.count - length)...]
            if candidates.contains(where: { $0.count > length && $0.starts(with: suffix) }) { return length }
            length -= 1
        }
        return 0
    }
}
