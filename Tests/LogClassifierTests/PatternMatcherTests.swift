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

    @Test("finds exactly what a plain substring search finds, on random texts over the patterns' bytes")
    func matchesNaiveSearch() {
        let patterns = ["he", "she", "his", "hers", "\u{01}err", "or\u{03}", "a", "ab", "bab", "abcab", "x-y", "<n>"]
        let matcher = PatternMatcher(patterns: patterns)
        let alphabet = Array("abhersixyABHE-<n> \u{01}\u{03}".utf8) + [0xC3, 0xA9]
        var state: UInt64 = 1
        for _ in 0..<3000 {
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
        #expect(matcher.tableBytes < 1_500_000)
    }
}
