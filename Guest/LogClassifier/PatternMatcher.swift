/// A multi-pattern substring matcher (Aho–Corasick) over lower-cased ASCII.
///
/// One pass over the text finds every pattern occurrence. Bytes are lower-cased on the fly; bytes ≥ 0x80
/// share one symbol, so patterns are ASCII. Each symbol that occurs in a pattern has its own column, every other
/// symbol shares column 0 (they all lead where a mismatch leads).
///
/// The automaton is stored in two parts. Shallow states (depth ≤ `denseDepth`) and states with more than one
/// child have a full row: the next state for every column, one lookup. Every other state is a link in a
/// pattern's tail, with at most one child; it keeps only that child's column, the child, and its failure state.
/// Reading a byte there either follows the child or falls back along failure states (each shallower) to a full
/// row. Most pattern states are such links, so the tables are a fraction of a full automaton's (146 KB instead of
/// 1.18 MB for the rule table), and the text's bytes mostly stay at shallow states, whose rows are the hot ones.
struct PatternMatcher: Sendable {
    /// `columns[byte]`: the byte's column.
    private let columns: [UInt8]
    /// The number of columns.
    private let columnCount: Int
    /// States below this number have a full row; the others are links.
    private let rowCount: Int
    /// `rows[state * columnCount + column]` is the next state, for `state < rowCount`.
    private let rows: [UInt16]
    /// For link `state`, entry `state - rowCount`: the column of its one child (``noChild`` when it has none),
    /// the child, and the failure state.
    private let linkColumns: [UInt8]
    private let linkChildren: [UInt16]
    private let linkFailures: [UInt16]
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
        columns.count + rows.count * 2 + linkColumns.count * 5 + outputStarts.count * 4 + outputs.count * 2
    }

    /// A link's column when it has no child (columns are below 256 − 1).
    private static let noChild: UInt8 = .max

    /// The symbol a byte stands for: lower-cased ASCII, or 128 for any byte ≥ 0x80.
    @inline(__always) static func symbol(_ byte: UInt8) -> Int {
        if byte >= 0x80 {
            return 128
        }
        return Int(byte &- 0x41 < 26 ? byte | 0x20 : byte)
    }

    /// Compiles the patterns (already lower-case ASCII); states deeper than `denseDepth` with at most one child
    /// are stored as links.
    init(patterns: [String], denseDepth: Int = 2) {
        let encoded = patterns.map { Array($0.utf8) }
        // Columns: 0 for symbols in no pattern, then one per symbol that occurs.
        var columnOfSymbol = [UInt8](repeating: 0, count: 129)
        var columnCount = 1
        for pattern in encoded {
            for byte in pattern where columnOfSymbol[Self.symbol(byte)] == 0 {
                precondition(columnCount < Int(Self.noChild), "too many distinct pattern bytes")
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

        // The trie, written straight into a full table (0 = no edge yet: the root is nobody's child).
        var table = [UInt16](repeating: 0, count: stateCount * columnCount)
        var firstPattern = [Int32](repeating: -1, count: stateCount)
        var nextPattern = [Int32](repeating: -1, count: encoded.count)
        var children = [UInt8](repeating: 0, count: stateCount)
        var depth = [Int32](repeating: 0, count: stateCount)
        var states = 1
        for (id, pattern) in encoded.enumerated() {
            var state = 0
            for byte in pattern {
                let cell = state * columnCount + Int(columns[Int(byte)])
                if table[cell] == 0 {
                    table[cell] = UInt16(states)
                    children[state] = children[state] == 0 ? 1 : 2
                    depth[states] = depth[state] + 1
                    states += 1
                }
                state = Int(table[cell])
            }
            nextPattern[id] = firstPattern[state]
            firstPattern[state] = Int32(id)
        }
        // The link fields, read before missing edges are filled in.
        var childColumn = [UInt8](repeating: Self.noChild, count: stateCount)
        var child = [UInt16](repeating: 0, count: stateCount)
        for state in 0..<stateCount where children[state] == 1 {
            for column in 1..<columnCount where table[state * columnCount + column] != 0 {
                childColumn[state] = UInt8(column)
                child[state] = table[state * columnCount + column]
            }
        }

        // Breadth first: a state's failure state is shallower, so its row is complete when the state's row is
        // filled (missing edges copied from it) and its output count is known.
        var fail = [Int32](repeating: 0, count: stateCount)
        var order: [Int32] = [0]
        order.reserveCapacity(stateCount)
        var counts = [UInt32](repeating: 0, count: stateCount)
        for column in 0..<columnCount where table[column] != 0 {
            order.append(Int32(table[column]))
        }
        var head = 1
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

        // Numbering: states with a full row first, then links, each group breadth first (the root stays 0).
        let isRow = (0..<stateCount).map { $0 == 0 || depth[$0] <= denseDepth || children[$0] > 1 }
        var number = [UInt16](repeating: 0, count: stateCount)
        var numbered = [Int32]()
        numbered.reserveCapacity(stateCount)
        for state in order where isRow[Int(state)] {
            number[Int(state)] = UInt16(numbered.count)
            numbered.append(state)
        }
        let rowCount = numbered.count
        for state in order where !isRow[Int(state)] {
            number[Int(state)] = UInt16(numbered.count)
            numbered.append(state)
        }
        var rows = [UInt16](repeating: 0, count: rowCount * columnCount)
        for (index, state) in numbered.prefix(rowCount).enumerated() {
            for column in 0..<columnCount {
                rows[index * columnCount + column] = number[Int(table[Int(state) * columnCount + column])]
            }
        }
        let links = numbered.dropFirst(rowCount).map(Int.init)
        // Output lists: laid out by new number, filled breadth first (a failure state's list is complete before).
        var starts = [UInt32](repeating: 0, count: stateCount + 1)
        for (index, state) in numbered.enumerated() {
            starts[index + 1] = starts[index] + counts[Int(state)]
        }
        var outputs = [UInt16](repeating: 0, count: Int(starts[stateCount]))
        for state in order.dropFirst() {
            let numberOfState = Int(number[Int(state)])
            var position = Int(starts[numberOfState])
            var pattern = firstPattern[Int(state)]
            while pattern >= 0 {
                outputs[position] = UInt16(pattern)
                position += 1
                pattern = nextPattern[Int(pattern)]
            }
            let failNumber = Int(number[Int(fail[Int(state)])])
            for inherited in Int(starts[failNumber])..<Int(starts[failNumber + 1]) {
                outputs[position] = outputs[inherited]
                position += 1
            }
        }
        self.columns = columns
        self.columnCount = columnCount
        self.rowCount = rowCount
        self.rows = rows
        self.linkColumns = links.map { childColumn[$0] }
        self.linkChildren = links.map { number[Int(child[$0])] }
        self.linkFailures = links.map { number[Int(fail[$0])] }
        self.outputStarts = starts
        self.outputs = outputs
        self.patternCount = patterns.count
    }

    /// Marks every pattern found in `text` in `found`; the text is framed by 0x01 (line start, `^` in rule
    /// patterns) and 0x03 (line end, `$`).
    func scan(_ text: UnsafeBufferPointer<UInt8>, into found: inout PatternSet) {
        rows.withUnsafeBufferPointer { rows in
            linkColumns.withUnsafeBufferPointer { linkColumns in
                linkChildren.withUnsafeBufferPointer { linkChildren in
                    linkFailures.withUnsafeBufferPointer { linkFailures in
                        columns.withUnsafeBufferPointer { columns in
                            outputStarts.withUnsafeBufferPointer { starts in
                                let width = columnCount
                                let rowCount = rowCount
                                @inline(__always) func step(_ from: Int, _ column: Int) -> Int {
                                    var state = from
                                    while state >= rowCount {
                                        let link = state &- rowCount
                                        if Int(linkColumns[link]) == column {
                                            return Int(linkChildren[link])
                                        }
                                        state = Int(linkFailures[link])
                                    }
                                    return Int(rows[state &* width &+ column])
                                }
                                var state = step(0, Int(columns[0x01]))
                                record(state, starts: starts, into: &found)
                                for byte in text {
                                    state = step(state, Int(columns[Int(byte)]))
                                    record(state, starts: starts, into: &found)
                                }
                                state = step(state, Int(columns[0x03]))
                                record(state, starts: starts, into: &found)
                            }
                        }
                    }
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
