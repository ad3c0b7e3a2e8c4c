/// Reassembles lines from byte chunks that may split a line, a `\r\n` pair or a UTF-8 character anywhere.
///
/// Lines end at `\n`; one `\r` before it is dropped. A UTF-8 byte-order mark at the very start is skipped.
/// Working on bytes (not decoded text) means a character split across chunks is only decoded once whole.
struct LineBuffer: Sendable {
    /// Longer lines are refused: a stream that never sends a line break must not grow memory without bound.
    static let defaultLimit = 32 * 1024 * 1024

    private var pending: [UInt8] = []
    /// Where the next line starts.
    private var start = 0
    /// Bytes before this index hold no line break.
    private var searched = 0
    private var atStart = true
    let limit: Int

    init(limit: Int = LineBuffer.defaultLimit) {
        self.limit = limit
    }

    mutating func append(_ bytes: some Sequence<UInt8>) {
        if self.start > 0 {
            self.pending.removeFirst(self.start)
            self.searched -= self.start
            self.start = 0
        }
        self.pending.append(contentsOf: bytes)
        if self.atStart, self.pending.count >= 3 || !Self.bom.starts(with: self.pending) {
            if self.pending.starts(with: Self.bom) {
                self.pending.removeFirst(3)
            }
            self.atStart = false
        }
    }

    /// The next complete line, or nil when the rest has no line break yet.
    mutating func nextLine() throws(ProviderError) -> ArraySlice<UInt8>? {
        guard !self.atStart else { return nil }
        var index = self.searched
        let count = self.pending.count
        while index < count {
            if self.pending[index] == 0x0A {
                var end = index
                if end > self.start, self.pending[end - 1] == 0x0D { end -= 1 }
                let line = self.pending[self.start..<end]
                self.start = index + 1
                self.searched = self.start
                return line
            }
            index += 1
        }
        self.searched = count
        if count - self.start > self.limit {
            self.pending = []
            self.start = 0
            self.searched = 0
            throw .lineTooLong(limit: self.limit)
        }
        return nil
    }

    /// The unterminated last line, if any (a trailing `\r` dropped); the buffer is empty afterwards.
    mutating func finish() -> ArraySlice<UInt8>? {
        defer {
            self.pending = []
            self.start = 0
            self.searched = 0
            self.atStart = false
        }
        if self.atStart { return nil }
        var line = self.pending[self.start...]
        guard !line.isEmpty else { return nil }
        if line.last == 0x0D { line = line.dropLast() }
        return line
    }

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
}
