/// A multi-pattern substring matcher (Aho–Corasick compiled to a dense automaton) over lower-cased ASCII.
///
/// One pass over the text finds every pattern occurrence. Bytes are lower-cased on the fly; bytes ≥ 0x80
/// share one symbol, so patterns are ASCII.
struct PatternMatcher: Sendable {
    static let alphabet = 129

    /// `transitions[state * alphabet + symbol]` is the next state.
    private let transitions: [UInt16]
    /// For each state, the patterns that end there (including those reached through failure links).
    private let outputs: [[UInt16]]
    /// The number of patterns.
    let patternCount: Int

    @inline(__always) static func symbol(_ byte: UInt8) -> Int {
        if byte >= 0x80 {
            return 128
        }
        return Int(byte &- 0x41 < 26 ? byte | 0x20 : byte)
    }

    /// Compiles the patterns (already lower-case ASCII).
    init(patterns: [String]) {
        var goto: [[Int32]] = [Array(repeating: -1, count: Self.alphabet)]
        var outputs: [[UInt16]] = [[]]
        for (id, pattern) in patterns.enumerated() {
            var state = 0
            for byte in pattern.utf8 {
                let symbol = Self.symbol(byte)
                if goto[state][symbol] < 0 {
                    goto.append(Array(repeating: -1, count: Self.alphabet))
                    outputs.append([])
                    goto[state][symbol] = Int32(goto.count - 1)
                }
                state = Int(goto[state][symbol])
            }
            outputs[state].append(UInt16(id))
        }
        precondition(goto.count < Int(UInt16.max), "too many pattern states")
        var fail = Array(repeating: 0, count: goto.count)
        var table = Array(repeating: UInt16(0), count: goto.count * Self.alphabet)
        var queue: [Int] = []
        for symbol in 0..<Self.alphabet {
            let next = goto[0][symbol]
            if next > 0 {
                table[symbol] = UInt16(next)
                queue.append(Int(next))
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            outputs[state].append(contentsOf: outputs[fail[state]])
            for symbol in 0..<Self.alphabet {
                let next = goto[state][symbol]
                if next > 0 {
                    fail[Int(next)] = Int(table[fail[state] * Self.alphabet + symbol])
                    table[state * Self.alphabet + symbol] = UInt16(next)
                    queue.append(Int(next))
                } else {
                    table[state * Self.alphabet + symbol] = table[fail[state] * Self.alphabet + symbol]
                }
            }
        }
        self.transitions = table
        self.outputs = outputs
        self.patternCount = patterns.count
    }

    /// Marks every pattern found in `text` in `found`; the text is framed by 0x01 (line start, `^` in rule
    /// patterns) and 0x03 (line end, `$`).
    func scan(_ text: UnsafeBufferPointer<UInt8>, into found: inout PatternSet) {
        transitions.withUnsafeBufferPointer { table in
            var state = Int(table[0x01])
            record(state, into: &found)
            for byte in text {
                state = Int(table[state * Self.alphabet + Self.symbol(byte)])
                record(state, into: &found)
            }
            state = Int(table[state * Self.alphabet + 0x03])
            record(state, into: &found)
        }
    }

    @inline(__always) private func record(_ state: Int, into found: inout PatternSet) {
        for id in outputs[state] {
            found.insert(Int(id))
        }
    }
}

/// A fixed-size bit set of pattern ids.
struct PatternSet {
    private var words: [UInt64]

    init(capacity: Int) {
        words = Array(repeating: 0, count: (capacity + 63) / 64)
    }

    @inline(__always) mutating func insert(_ id: Int) {
        words[id >> 6] |= 1 << UInt64(id & 63)
    }

    @inline(__always) func contains(_ id: Int) -> Bool {
        words[id >> 6] & (1 << UInt64(id & 63)) != 0
    }
}
