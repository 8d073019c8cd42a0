import Foundation
import Testing

@testable import Memory

/// The compact vocabulary and the byte-level `tokenizer.json` scanner of the static embedder.
@Suite("Memory tokenizer scanner")
struct MemoryVocabularyTests {
    @Test("a WordPiece object vocabulary, the unknown token and the normalizer's lowercase flag are read")
    func wordPiece() throws {
        let json = #"""
            {"version": "1.0", "added_tokens": [{"id": 0, "content": "[UNK]", "special": true}],
             "normalizer": {"type": "BertNormalizer", "lowercase": false, "strip_accents": null},
             "pre_tokenizer": {"type": "BertPreTokenizer"},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 100,
                       "vocab": {"[UNK]": 0, "indent": 1, "##ing": 2, "caf\u00e9": 3, "tab\"s": 4}}}
            """#
        let summary = try TokenizerScanner.scan(Array(json.utf8))
        #expect(summary.vocabulary.count == 5)
        #expect(summary.vocabulary.id("indent") == 1)
        #expect(summary.vocabulary.id("##ing") == 2)
        #expect(summary.vocabulary.id("café") == 3)
        #expect(summary.vocabulary.id("tab\"s") == 4)
        #expect(summary.vocabulary.id("absent") == nil)
        #expect(summary.unknownToken == "[UNK]")
        #expect(summary.lowercase == false)
    }

    @Test(
        "a Unigram list vocabulary: ids are positions, escapes and surrogate pairs are decoded, duplicates keep the first id"
    )
    func unigram() throws {
        let json = #"""
            {"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"},
             "model": {"type": "Unigram", "unk_id": 1, "byte_fallback": false,
                       "vocab": [["<pad>", 0.0], ["<unk>", 0.0], ["\u2581indent", -3.5], ["\ud83d\ude00", -1e-3],
                                 ["\u2581indent", -9], ["a\\b\n", -2]]}}
            """#
        let summary = try TokenizerScanner.scan(Array(json.utf8))
        #expect(summary.vocabulary.count == 5)
        #expect(summary.vocabulary.id("▁indent") == 2)
        #expect(summary.vocabulary.id("😀") == 3)
        #expect(summary.vocabulary.id("a\\b\n") == 5)
        #expect(summary.unknownID == 1)
        #expect(summary.unknownToken == nil)
        #expect(summary.lowercase == nil)
    }

    @Test("many tokens grow the hash table and every one is found again")
    func growth() {
        var vocabulary = MemoryVocabulary()
        for number in 0..<50_000 { vocabulary.insert(Array("token-\(number)".utf8), id: number) }
        vocabulary.compact()
        #expect(vocabulary.count == 50_000)
        let missing = (0..<50_000).filter { (number: Int) -> Bool in
            vocabulary.id(Array("token-\(number)".utf8)) != number
        }
        #expect(missing.count == 0, "first missing: \(missing.prefix(5))")
        #expect(vocabulary.id("token-50000") == nil)
    }

    @Test("malformed tokenizer files are invalid input naming the problem and its byte offset")
    func malformed() {
        let cases: [(String, String)] = [
            (#"{"model": {"vocab": {"a": 1,}}}"#, "at byte"),
            (#"{"model": {"vocab": [["a", 0.0]"#, "ends inside a container"),
            (#"{"model": {"vocab": {"a": 1.5}}}"#, "found a fraction"),
            (#"{"model": {"vocab": {"a": 1}, "unk_token": "\u12"}}"#, "escape"),
            (#"{"other": [1, 2, {"x": "y"}]}"#, "no \"model\" object"),
            (#"{"model": {"vocab": {"a: 1}}}"#, "at byte"),
        ]
        for (json, expected) in cases {
            let error = #expect(throws: MemoryError.self, "\(json)") {
                _ = try TokenizerScanner.scan(Array(json.utf8))
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.hasPrefix("tokenizer.json") == true, "\(json): \(String(describing: error))")
            #expect(error?.message.contains(expected) == true, "\(json): \(String(describing: error))")
        }
    }
}
