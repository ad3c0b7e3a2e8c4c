import Testing

@testable import AIChatBackend

@Suite struct ReasoningTagExtractorTests {
    /// Feeds the deltas and `finish()`, returning every piece.
    func run(_ extractor: ReasoningTagExtractor, _ deltas: [String]) -> [ReasoningTagExtractor.Piece] {
        var extractor = extractor
        return deltas.flatMap { extractor.split($0) } + extractor.finish()
    }

    /// Visible text, reasoning, and how many times reasoning ended.
    func summary(_ pieces: [ReasoningTagExtractor.Piece]) -> (content: String, reasoning: String, ends: Int) {
        var result = (content: "", reasoning: "", ends: 0)
        for piece in pieces {
            switch piece {
                case .content(let text): result.content += text
                case .reasoning(let text): result.reasoning += text
                case .reasoningEnded: result.ends += 1
            }
        }
        return result
    }

    @Test func tagsInOneDeltaAreSplitOut() {
        let pieces = self.run(ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags), ["Intro <think>step 1</think>Answer"])
        #expect(pieces == [.content("Intro "), .reasoning("step 1"), .reasoningEnded, .content("Answer")])
    }

    @Test func everyDefaultPairIsRecognisedWhenSplitAtAnyCharacter() {
        for pair in ReasoningTagExtractor.defaultTags {
            let text = "Before 🙂 \(pair.open)weigh 选项 carefully\(pair.close)After ✓"
            let scalars = Array(text.unicodeScalars)
            for cut in 0...scalars.count {
                for secondCut in [cut, min(scalars.count, cut + 3)] {
                    let parts = [0..<cut, cut..<secondCut, secondCut..<scalars.count].map { range in
                        var view = String.UnicodeScalarView()
                        view.append(contentsOf: scalars[range])
                        return String(view)
                    }
                    let result = self.summary(self.run(ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags), parts))
                    #expect(result.content == "Before 🙂 After ✓", "\(pair.open) cut at \(cut), \(secondCut)")
                    #expect(result.reasoning == "weigh 选项 carefully", "\(pair.open) cut at \(cut), \(secondCut)")
                    #expect(result.ends == 1)
                }
            }
        }
    }

    @Test func oneCharacterAtATimeStillWorks() {
        let text = "<thinking>a<b</thinking>x <reasoning>r</reasoning>y"
        let pieces = self.run(ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags), text.map(String.init))
        let result = self.summary(pieces)
        #expect(result.content == "x y")
        #expect(result.reasoning == "a<br")
        #expect(result.ends == 2)
    }

    @Test func heldBackTextComesOutWhenItIsNotATag() {
        var extractor = ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags)
        #expect(extractor.split("a <th") == [.content("a ")])
        #expect(extractor.split("ese are fine") == [.content("<these are fine")])
        #expect(extractor.split("x < y <") == [.content("x < y ")])
        #expect(extractor.finish() == [.content("<")])
    }

    @Test func theLongestTagWinsAtOnePosition() {
        let pieces = self.run(ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags), ["<thought>", "a</thought><Thought>b</Thought>c"])
        #expect(self.summary(pieces).content == "c")
        #expect(self.summary(pieces).reasoning == "ab")
        #expect(
            self.run(ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags), ["<think>a</thinking>b"]) == [.reasoning("a</thinking>b")] + [
                .reasoningEnded
            ])
    }

    @Test func anUnterminatedBlockEndsWithTheAnswer() {
        var extractor = ReasoningTagExtractor(tags: ReasoningTagExtractor.defaultTags)
        #expect(extractor.split("<think>still going</thi") == [.reasoning("still going")])
        #expect(extractor.isInsideReasoning)
        #expect(extractor.finish() == [.reasoning("</thi"), .reasoningEnded])
        #expect(!extractor.isInsideReasoning)
        #expect(extractor.finish() == [])
    }

    @Test func aCustomPairReplacesTheDefaults() {
        let extractor = ReasoningTagExtractor(mode: "custom", customTags: #"["[[plan]]", "[[/plan]]"]"#)
        let pieces = self.run(extractor, ["<think>visible</think> [[pl", "an]]hidden[[/pl", "an]] done"])
        #expect(pieces == [.content("<think>visible</think> "), .reasoning("hidden"), .reasoningEnded, .content(" done")])
    }

    @Test func anInvalidCustomPairFallsBackToTheDefaults() {
        for custom in [nil, "", "not json", #"["only-one"]"#, #"["", "</x>"]"#, #"["a","b","c"]"#] {
            let pieces = self.run(ReasoningTagExtractor(mode: "custom", customTags: custom), ["<think>r</think>c"])
            #expect(pieces == [.reasoning("r"), .reasoningEnded, .content("c")], "\(custom ?? "nil")")
        }
    }

    @Test func offModePassesEverythingThrough() {
        for extractor in [ReasoningTagExtractor(mode: "off", customTags: nil), .passThrough] {
            #expect(self.run(extractor, ["<think>x</think>", "", "y"]) == [.content("<think>x</think>"), .content("y")])
        }
    }
}
