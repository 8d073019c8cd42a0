/// A multi-pattern substring matcher (Aho–Corasick compiled to a dense automaton) over lower-cased ASCII.
///
/// One pass over the text finds every pattern occurrence. Bytes are lower-cased on the fly; bytes ≥ 0x80
/// share one symbol, so patterns are ASCII. The table has one column per byte class, not per byte: each symbol
/// that occurs in a pattern has its own column, every other symbol shares column 0 (they all lead where a
/// mismatch leads). It is built in place, without a row per state.
struct PatternMatcher: Sendable {
    /// `columns[byte]`: the byte's column in ``transitions``.
    private let columns: [UInt8]
    /// The number of columns.
    private let columnCount: Int
    /// `transitions[state * columnCount + column]` is the next state.
    private let transitions: [UInt16]
    /// The patterns that end at `state` (including those reached through failure links) are
    /// `outputs[outputStarts[state]..<outputStarts[state + 1]]`.
    private let outputStarts: [UInt32]
    private let outputs: [UInt16]
    /// The number of patterns.
    let patternCount: Int
    /// The number of automaton states.
    var stateCount: Int { outputStarts.count - 1 }
    /// The bytes the automaton's tables take.
    var tableBytes: Int {
        columns.count + transitions.count * 2 + outputStarts.count * 4 + outputs.count * 2
    }

    /// The symbol a byte stands for: lower-cased ASCII, or 128 for any byte ≥ 0x80.
    @inline(__always) static func symbol(_ byte: UInt8) -> Int {
        if byte >= 0x80 {
            return 128
        }
        return Int(byte &- 0x41 < 26 ? byte | 0x20 : byte)
    }

    /// Compiles the patterns (already lower-case ASCII).
    init(patterns: [String]) {
        let encoded = patterns.map { Array($0.utf8) }
        // Columns: 0 for symbols in no pattern, then one per symbol that occurs.
        var columnOfSymbol = [UInt8](repeating: 0, count: 129)
        var columnCount = 1
        for pattern in encoded {
            for byte in pattern where columnOfSymbol[Self.symbol(byte)] == 0 {
                precondition(columnCount < 256, "too many distinct pattern bytes")
                columnOfSymbol[Self.symbol(byte)] = UInt8(columnCount)
                columnCount += 1
            }
        }
        let columns = (0..<256).map { columnOfSymbol[Self.symbol(UInt8($0))] }
        // The trie's size: one state per distinct prefix (sorted patterns share their common prefixes).
        let sorted = encoded.map { $0.map { columns[Int($0)] } }.sorted { $0.lexicographicallyPrecedes($1) }
        var stateCount = 1
        for (index, pattern) in sorted.enumerated() {
            var common = 0
            if index > 0 {
                let previous = sorted[index - 1]
                while common < min(previous.count, pattern.count), previous[common] == pattern[common] {
                    common += 1
                }
            }
            stateCount += pattern.count - common
        }
        precondition(stateCount < Int(UInt16.max), "too many pattern states")

        // The trie, written straight into the table (0 = no edge yet: the root is nobody's child).
        var table = [UInt16](repeating: 0, count: stateCount * columnCount)
        var firstPattern = [Int32](repeating: -1, count: stateCount)
        var nextPattern = [Int32](repeating: -1, count: encoded.count)
        var states = 1
        for (id, pattern) in encoded.enumerated() {
            var state = 0
            for byte in pattern {
                let cell = state * columnCount + Int(columns[Int(byte)])
                if table[cell] == 0 {
                    table[cell] = UInt16(states)
                    states += 1
                }
                state = Int(table[cell])
            }
            nextPattern[id] = firstPattern[state]
            firstPattern[state] = Int32(id)
        }

        // Breadth first: a state's failure state is shallower, so its row is complete when the state's row is
        // filled (missing edges copied from it) and its output count is known.
        var fail = [Int32](repeating: 0, count: stateCount)
        var order: [Int32] = []
        order.reserveCapacity(stateCount)
        var counts = [UInt32](repeating: 0, count: stateCount + 1)
        for column in 0..<columnCount where table[column] != 0 {
            order.append(Int32(table[column]))
        }
        var head = 0
        while head < order.count {
            let state = Int(order[head])
            head += 1
            let failState = Int(fail[state])
            var own: UInt32 = 0
            var pattern = firstPattern[state]
            while pattern >= 0 {
                own += 1
                pattern = nextPattern[Int(pattern)]
            }
            counts[state] = own + counts[failState]
            let row = state * columnCount
            let failRow = failState * columnCount
            for column in 0..<columnCount {
                let next = table[row + column]
                if next != 0 {
                    fail[Int(next)] = Int32(table[failRow + column])
                    order.append(Int32(next))
                } else {
                    table[row + column] = table[failRow + column]
                }
            }
        }
        // Output lists: laid out by state, filled breadth first (a failure state's list is complete before).
        var starts = [UInt32](repeating: 0, count: stateCount + 1)
        for state in 0..<stateCount {
            starts[state + 1] = starts[state] + counts[state]
        }
        var outputs = [UInt16](repeating: 0, count: Int(starts[stateCount]))
        for state in order {
            var position = Int(starts[Int(state)])
            var pattern = firstPattern[Int(state)]
            while pattern >= 0 {
                outputs[position] = UInt16(pattern)
                position += 1
                pattern = nextPattern[Int(pattern)]
            }
            let failState = Int(fail[Int(state)])
            for inherited in Int(starts[failState])..<Int(starts[failState + 1]) {
                outputs[position] = outputs[inherited]
                position += 1
            }
        }
        self.columns = columns
        self.columnCount = columnCount
        self.transitions = table
        self.outputStarts = starts
        self.outputs = outputs
        self.patternCount = patterns.count
    }

    /// Marks every pattern found in `text` in `found`; the text is framed by 0x01 (line start, `^` in rule
    /// patterns) and 0x03 (line end, `$`).
    func scan(_ text: UnsafeBufferPointer<UInt8>, into found: inout PatternSet) {
        transitions.withUnsafeBufferPointer { table in
            columns.withUnsafeBufferPointer { columns in
                outputStarts.withUnsafeBufferPointer { starts in
                    let width = columnCount
                    var state = Int(table[Int(columns[0x01])])
                    record(state, starts: starts, into: &found)
                    for byte in text {
                        state = Int(table[state &* width &+ Int(columns[Int(byte)])])
                        record(state, starts: starts, into: &found)
                    }
                    state = Int(table[state &* width &+ Int(columns[0x03])])
                    record(state, starts: starts, into: &found)
                }
            }
        }
    }

    @inline(__always)
    private func record(_ state: Int, starts: UnsafeBufferPointer<UInt32>, into found: inout PatternSet) {
        let from = Int(starts[state])
        let to = Int(starts[state &+ 1])
        for position in from..<to {
            found.insert(Int(outputs[position]))
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
