import Testing

@testable import LogClassifier

@Suite("PatternMatcher")
struct PatternMatcherTests {
    /// Every pattern found by a plain substring search (case-insensitive, bytes ≥ 0x80 alike, `^`/`$` framing).
    static func naive(_ patterns: [String], _ text: [UInt8]) -> Set<Int> {
        let framed =
            [0x01] + text.map { UInt8(PatternMatcher.symbol($0) == 128 ? 0x80 : PatternMatcher.symbol($0)) }
            + [0x03]
        var found: Set<Int> = []
        for (id, pattern) in patterns.enumerated() {
            let needle = Array(pattern.utf8)
            guard needle.count <= framed.count else { continue }
            for start in 0...(framed.count - needle.count) where Array(framed[start..<start + needle.count]) == needle {
                found.insert(id)
                break
            }
        }
        return found
    }

    @Test(
        "finds exactly what a plain substring search finds, on random texts over the patterns' bytes",
        arguments: [0, 1, 2, 8])
    func matchesNaiveSearch(denseDepth: Int) {
        let patterns = [
            "he", "she", "his", "hers", "\u{01}err", "or\u{03}", "a", "ab", "bab", "abcab", "x-y", "<n>", "hishers",
            "sheshe", "abab", "ababx",
        ]
        let matcher = PatternMatcher(patterns: patterns, denseDepth: denseDepth)
        let alphabet = Array("abhersixyABHE-<n> \u{01}\u{03}".utf8) + [0xC3, 0xA9]
        var state: UInt64 = 1
        for _ in 0..<1000 {
            var text: [UInt8] = []
            state = state &* 6_364_136_223_846_793_005 &+ 1
            for _ in 0..<Int(state >> 60) + Int(state >> 58 & 7) {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                text.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            var found = PatternSet(capacity: patterns.count)
            text.withUnsafeBufferPointer { matcher.scan($0, into: &found) }
            let expected = Self.naive(patterns, text)
            let got = Set(patterns.indices.filter { found.contains($0) })
            #expect(got == expected, "\(String(decoding: text, as: UTF8.self))")
        }
    }

    @Test("the rule table's automaton has a column per pattern byte, not per byte value, and stays small")
    func ruleTableSize() {
        let matcher = LogRuleSet.shared.matcher
        print(
            "rule automaton: \(matcher.patternCount) patterns, \(matcher.stateCount) states, \(matcher.tableBytes) bytes"
        )
        #expect(matcher.tableBytes < 400_000)
    }

    @Test("the rule table's compact automaton finds what its full automaton finds, on texts spliced from its patterns")
    func ruleTableMatchesFullAutomaton() {
        var patterns: [String] = []
        var seen: Set<String> = []
        for pattern in LogRuleSet.table.flatMap({ $0.any + $0.all.flatMap { $0 } + $0.none })
            + LogRuleSet.benignMarkers + LogRuleSet.failureCues
        {
            let encoded = String(
                decoding: pattern.utf8.map { $0 == UInt8(ascii: "^") ? 0x01 : $0 == UInt8(ascii: "$") ? 0x03 : $0 },
                as: UTF8.self)
            if seen.insert(encoded).inserted { patterns.append(encoded) }
        }
        let compact = PatternMatcher(patterns: patterns)
        // Every state a full row: the automaton the small test above checks against a plain search.
        let full = PatternMatcher(patterns: patterns, denseDepth: .max)
        #expect(compact.patternCount == LogRuleSet.shared.matcher.patternCount)
        #expect(compact.tableBytes < full.tableBytes / 4)
        var state: UInt64 = 7
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            return Int(state >> 33) % bound
        }
        for _ in 0..<500 {
            var text: [UInt8] = []
            for _ in 0..<1 + random(4) {
                let pattern = Array(patterns[random(patterns.count)].utf8).filter { $0 != 0x01 && $0 != 0x03 }
                let from = random(max(pattern.count, 1))
                text += pattern[from..<min(pattern.count, from + 1 + random(24))] + [0x20]
            }
            var found = PatternSet(capacity: patterns.count)
            var expected = PatternSet(capacity: patterns.count)
            text.withUnsafeBufferPointer {
                compact.scan($0, into: &found)
                full.scan($0, into: &expected)
            }
            #expect(
                patterns.indices.allSatisfy { found.contains($0) == expected.contains($0) },
                "\(String(decoding: text, as: UTF8.self))")
        }
    }
}
