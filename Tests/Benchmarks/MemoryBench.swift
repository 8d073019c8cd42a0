import AgentAPI
import ArgumentParser
import Crypto
import Foundation
import Logging
import Memory

/// `somnus-bench memory`: insert rates, search latency at scale, bytes per memory, RSS and recall@5.
struct MemoryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory", abstract: "Memory store: insert rate, search p50/p99, size, RSS, recall@5.")
    @Option(help: "Store sizes to measure search at.") var sizes: [Int] = [10_000, 100_000]
    @Option(help: "Searches timed per size.") var searches = 300
    @Option(help: "Memories inserted one by one for the single-insert rate.") var singles = 2_000
    @Option(help: "Memories imported in batches of 1,000 for the batched rate.") var batched = 10_000
    @Option(
        help: ArgumentHelp(
            "Words per synthetic memory filling the store for search (0: 10 to 29 at random); few words make a "
                + "large store quick to fill with the transformer, whose embedding time grows with the tokens."))
    var fillWords = 0
    @Option(help: "The retrieval eval set.") var eval = "Tests/MemoryTests/Data/memory-eval.json"
    @Option(
        help: ArgumentHelp(
            "A model directory: the transformer from provisioning/fetch-memory-model.sh (vocab.txt + "
                + "encoder.safetensors) or a Model2Vec-style one (tokenizer.json + model.safetensors)."))
    var modelDirectory: String?
    @Option(help: "Embeddings timed per text length.") var embeddings = 50
    @Option(help: "BM25 weights of hybrid fusion to score on both halves of the eval set (the vector list weighs 1).")
    var bm25Weights: [Double] = []
    @Option(
        help: ArgumentHelp(
            "Sign-bit candidates rescored with int8 codes to compare with the shipped count (0: every memory "
                + "scored with its int8 codes): search p50/p99 and agreement at each size, and recall@5 of the "
                + "eval set added to the largest store."))
    var candidateCounts: [Int] = []
    @Option(
        help: ArgumentHelp(
            "Keep the store that grows to each size in this directory and reuse it when run again (filling "
                + "100,000 memories with the transformer takes about 15 minutes)."))
    var storeDirectory: String?

    func run() throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-memory-bench-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        var generator = BenchRandom(seed: 7)

        try measureSmallStores(root: root, logger: logger, generator: &generator)
        try measureSearch(root: root, logger: logger, generator: &generator)
        try measureRecall(root: root, logger: logger)
        print(String(format: "memory peak RSS of the run: %.0f MiB", Self.residentMiB("VmHWM:")))
    }

    /// Model load, embedding times and insert rates, on stores released before the large one is filled (so
    /// its RSS holds one model).
    func measureSmallStores(root: URL, logger: Logger, generator: inout BenchRandom) throws {
        let clock = ContinuousClock()
        // Opening a store: the model's load (tokenizer scan, table) and the schema; RSS before and after.
        let residentBefore = Self.residentMiB()
        let openStart = clock.now
        let single = try MemoryStore(
            dataDirectory: root.appendingPathComponent("single").path, modelDirectory: modelDirectory, logger: logger)
        print(
            String(
                format: "memory open (%@): %.3f s, RSS %.1f → %.1f MiB (peak %.1f MiB)", single.embedderName,
                (clock.now - openStart) / .seconds(1), residentBefore, Self.residentMiB(), Self.residentMiB("VmHWM:")))

        // One embedding of a 16-token query and of a 64-token memory ([CLS] and [SEP] included with the
        // transformer's WordPiece vocabulary: every word is one piece).
        let words = Self.plainWords.split(separator: " ")
        for (label, count) in [("query, 16 tokens", 14), ("memory, 64 tokens", 62)] {
            let text = words.prefix(count).joined(separator: " ")
            var times: [Double] = []
            for _ in 0..<embeddings {
                let start = clock.now
                _ = single.embed(text)
                times.append((clock.now - start) / .milliseconds(1))
            }
            times.sort()
            print(
                String(
                    format: "memory embed %@ (%@): p50 %.2f ms, p99 %.2f ms (%d runs)", label, single.embedderName,
                    percentile(times, 0.5), percentile(times, 0.99), embeddings))
        }

        // Single inserts: one transaction (and one WAL commit) per memory.
        let singleStart = clock.now
        for number in 0..<singles {
            _ = try single.add(
                MemoryCreateRequest(namespace: "bench", content: generator.sentence(number), tags: ["t\(number % 7)"]))
        }
        let singleRate = Double(singles) / ((clock.now - singleStart) / .seconds(1))
        print(
            String(
                format: "memory insert, single (%@): %.0f memories/s (%d)", single.embedderName, singleRate, singles))

        // Batched: importRecords stores a whole batch in one transaction.
        let batchStore = try MemoryStore(
            dataDirectory: root.appendingPathComponent("batch").path, modelDirectory: modelDirectory,
            namespaceCap: 1_000_000, logger: logger)
        let batch = (0..<batched).map { generator.record($0) }
        let batchStart = clock.now
        for chunk in stride(from: 0, to: batch.count, by: 1_000) {
            _ = try batchStore.importRecords(Array(batch[chunk..<min(chunk + 1_000, batch.count)]))
        }
        let batchRate = Double(batch.count) / ((clock.now - batchStart) / .seconds(1))
        print(String(format: "memory insert, batched (1000 per transaction): %.0f memories/s", batchRate))
    }

    /// Search latency at each size (one store grows to each size in turn), the index's parts, and with
    /// `--candidate-counts` the sign-bit pass against other candidate counts.
    func measureSearch(root: URL, logger: Logger, generator: inout BenchRandom) throws {
        let clock = ContinuousClock()
        let openStart = clock.now
        let batchStore = try MemoryStore(
            dataDirectory: storeDirectory ?? root.appendingPathComponent("search").path,
            modelDirectory: modelDirectory, namespaceCap: 1_000_000, logger: logger)
        var filled = try batchStore.stats(namespace: "bench").total
        print(
            String(
                format: "memory search store opened with %d memories: %.2f s, RSS %.0f MiB", filled,
                (clock.now - openStart) / .seconds(1), Self.residentMiB()))
        for size in sizes.sorted() {
            let fillStart = clock.now
            let fillFrom = filled
            while filled < size {
                let end = min(filled + 5_000, size)
                _ = try batchStore.importRecords((filled..<end).map { generator.record($0, words: fillWords) })
                filled = end
            }
            if filled > fillFrom {
                print(
                    String(
                        format: "memory fill %d → %d (batches of 5,000): %.1f s", fillFrom, filled,
                        (clock.now - fillStart) / .seconds(1)))
            }
            var times: [MemorySearchMode: [Double]] = [:]
            for number in 0..<searches {
                let query = generator.query(number)
                // Hybrid every time; each list alone every third query, to show where the time goes.
                for mode in MemorySearchMode.allCases where mode == .hybrid || number % 3 == 0 {
                    let start = clock.now
                    _ = try batchStore.search(
                        MemorySearchRequest(namespace: "bench", query: query, limit: 5), mode: mode)
                    times[mode, default: []].append((clock.now - start) / .milliseconds(1))
                }
            }
            for count in candidateCounts {
                var countTimes: [Double] = []
                var agreeing = 0
                var compared = 0
                for number in 0..<searches {
                    let request = MemorySearchRequest(namespace: "bench", query: generator.query(number), limit: 5)
                    let start = clock.now
                    _ = try batchStore.search(request, mode: .hybrid, bm25Weight: nil, vectorCandidates: count)
                    countTimes.append((clock.now - start) / .milliseconds(1))
                    if number % 3 == 0 {
                        let exact = try batchStore.search(request, mode: .vector, bm25Weight: nil, vectorCandidates: 0)
                        let found = Set(
                            try batchStore.search(request, mode: .vector, bm25Weight: nil, vectorCandidates: count)
                                .hits.map(\.memory.id))
                        agreeing += exact.hits.filter { found.contains($0.memory.id) }.count
                        compared += exact.hits.count
                    }
                }
                countTimes.sort()
                print(
                    String(
                        format: "memory search at %d, %d candidates: p50 %.2f ms, p99 %.2f ms; vector top 5 "
                            + "agreeing with the full int8 scan %.3f", size, count, percentile(countTimes, 0.5),
                        percentile(countTimes, 0.99), Double(agreeing) / Double(max(1, compared))))
            }
            let parts = batchStore.indexPartBytes
            print(
                "memory index at \(size): "
                    + parts.map { String(format: "%@ %.1f MiB", $0.part, Double($0.bytes) / 1_048_576) }
                    .joined(separator: ", ")
                    + String(format: "; total %.1f MiB", Double(parts.reduce(0) { $0 + $1.bytes }) / 1_048_576))
            let hybrid = (times[.hybrid] ?? []).sorted()
            let stats = try batchStore.stats(namespace: nil)
            print(
                String(
                    format: "memory search at %d (%@): p50 %.2f ms, p99 %.2f ms (BM25 alone p50 %.2f, vector alone "
                        + "p50 %.2f); %.0f bytes/memory on disk (db+wal); RSS %.0f MiB", size,
                    batchStore.embedderName, percentile(hybrid, 0.5), percentile(hybrid, 0.99),
                    percentile((times[.bm25] ?? []).sorted(), 0.5), percentile((times[.vector] ?? []).sorted(), 0.5),
                    Double(stats.databaseBytes) / Double(stats.total), Self.residentMiB()))
        }
        guard !candidateCounts.isEmpty else {
            return
        }
        // The eval set among the largest store's memories: recall@5 of the vector list per candidate count.
        let set = try JSONDecoder().decode(BenchEvalSet.self, from: Data(contentsOf: URL(fileURLWithPath: eval)))
        var ids: [String: String] = [:]
        for memory in set.memories {
            let response = try batchStore.add(
                MemoryCreateRequest(namespace: "bench", kind: memory.kind, content: memory.content))
            ids[response.memory.id] = memory.id
        }
        let tuning = set.tuningHalf
        for count in [nil] + candidateCounts.map(Optional.some) {
            var found: [Bool] = []
            for query in set.queries {
                let request = MemorySearchRequest(namespace: "bench", query: query.query, limit: 5)
                let response =
                    try count.map {
                        try batchStore.search(request, mode: .vector, bm25Weight: nil, vectorCandidates: $0)
                    } ?? batchStore.search(request, mode: .vector)
                found.append(response.hits.contains { query.relevant.contains(ids[$0.memory.id] ?? "") })
            }
            func recall(_ tuningHalf: Bool) -> Double {
                let chosen = found.indices.filter { tuning[$0] == tuningHalf }
                return Double(chosen.filter { found[$0] }.count) / Double(max(1, chosen.count))
            }
            print(
                String(
                    format: "memory recall@5 vector among %d memories, %@ candidates: tuning %.3f, held-out %.3f",
                    try batchStore.stats(namespace: "bench").total, count.map(String.init) ?? "shipped",
                    recall(true), recall(false)))
        }
    }

    /// Retrieval quality on the hand-written eval set, on its tuning half (queries whose SHA-1 ends in an even
    /// byte), its held-out half and all of it.
    func measureRecall(root: URL, logger: Logger) throws {
        let set = try JSONDecoder().decode(BenchEvalSet.self, from: Data(contentsOf: URL(fileURLWithPath: eval)))
        let evalStore = try MemoryStore(
            dataDirectory: root.appendingPathComponent("eval").path, modelDirectory: modelDirectory, logger: logger)
        var ids: [String: String] = [:]
        for memory in set.memories {
            let response = try evalStore.add(
                MemoryCreateRequest(namespace: "eval", kind: memory.kind, content: memory.content))
            ids[response.memory.id] = memory.id
        }
        let tuning = set.tuningHalf
        let halves: [(name: String, includes: (Int) -> Bool)] = [
            ("tuning half", { tuning[$0] }), ("held-out half", { !tuning[$0] }),
            ("all queries", { _ in true }),
        ]
        /// The 1-based rank of the first relevant hit in the top 5 of each query, or `nil`.
        func ranks(_ mode: MemorySearchMode, bm25Weight: Double? = nil) throws -> [Int?] {
            try set.queries.map { query in
                let hits = try evalStore.search(
                    MemorySearchRequest(namespace: "eval", query: query.query, limit: 5), mode: mode,
                    bm25Weight: bm25Weight)
                return hits.hits.firstIndex { query.relevant.contains(ids[$0.memory.id] ?? "") }.map { $0 + 1 }
            }
        }
        func found(_ mode: MemorySearchMode, bm25Weight: Double? = nil) throws -> [Bool] {
            try ranks(mode, bm25Weight: bm25Weight).map { $0 != nil }
        }
        func recall(_ hits: [Bool], _ includes: (Int) -> Bool, type: String? = nil) -> (Double, Int) {
            let chosen = hits.indices.filter { includes($0) && (type == nil || set.queries[$0].type == type) }
            return (Double(chosen.filter { hits[$0] }.count) / Double(max(1, chosen.count)), chosen.count)
        }
        /// Mean reciprocal rank within the top 5: tells weights apart where recall@5 is saturated.
        func reciprocalRank(_ ranks: [Int?], _ includes: (Int) -> Bool) -> Double {
            let chosen = ranks.indices.filter(includes)
            return chosen.reduce(0) { $0 + (ranks[$1].map { 1 / Double($0) } ?? 0) } / Double(max(1, chosen.count))
        }
        for weight in bm25Weights {
            let weighted = try ranks(.hybrid, bm25Weight: weight)
            let hits = weighted.map { $0 != nil }
            print(
                String(
                    format: "memory fusion BM25 weight %.2f (%@): hybrid recall@5 / MRR@5 tuning %.3f / %.3f, "
                        + "held-out %.3f / %.3f", weight, evalStore.embedderName, recall(hits, halves[0].includes).0,
                    reciprocalRank(weighted, halves[0].includes), recall(hits, halves[1].includes).0,
                    reciprocalRank(weighted, halves[1].includes)))
        }
        let types = Set(set.queries.map(\.type)).sorted()
        for mode in MemorySearchMode.allCases {
            let hits = try found(mode)
            for half in halves {
                let (overall, count) = recall(hits, half.includes)
                let detail = types.map { type in
                    String(format: "%@ %.3f", type, recall(hits, half.includes, type: type).0)
                }.joined(separator: ", ")
                print(
                    String(
                        format: "memory recall@5 %@%@ (%@, %@, %d queries): %.3f [%@]", mode.rawValue,
                        mode == .hybrid ? String(format: " (BM25 weight %.2f)", evalStore.embedderBM25Weight) : "",
                        evalStore.embedderName, half.name, count, overall, detail))
            }
        }
    }

    /// 62 common English words, each a single WordPiece token.
    static let plainWords =
        "the service failed to start after the last update because the disk was full so we cleaned old logs and "
        + "restarted it again today while the user waited for the build to finish on the main branch with all "
        + "tests green and then deployed the new version to staging where it ran fine until midnight when the "
        + "backup job took most"

    /// `VmRSS` (or another `/proc/self/status` line in kB, such as `VmHWM:`) in MiB.
    static func residentMiB(_ field: String = "VmRSS:") -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let number = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? .nan
            return number / 1024
        }
        return .nan
    }
}

struct BenchEvalSet: Decodable {
    struct Memory: Decodable {
        var id: String
        var kind: MemoryKind
        var content: String
    }

    struct Query: Decodable {
        var query: String
        var type: String
        var relevant: [String]
    }

    var memories: [Memory]
    var queries: [Query]

    /// Whether each query is in the tuning half: its text's SHA-1 ends in an even byte.
    var tuningHalf: [Bool] {
        queries.map { Insecure.SHA1.hash(data: Data($0.query.utf8)).reversed().first.map { $0 % 2 == 0 } ?? false }
    }
}

/// SplitMix64 with a word generator, so every run stores the same synthetic memories.
struct BenchRandom {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    static let syllables = [
        "ka", "lo", "mi", "ren", "sto", "vak", "tur", "bel", "dor", "fin", "gru", "hal", "jen", "kor", "lum", "nex",
        "pra", "qui", "sol", "tem", "ul", "vin", "wex", "yor", "zan", "ar", "el", "is", "on", "us",
    ]

    mutating func word() -> String {
        // Zipf-like: small ids are common words.
        let rank = Int(Double(next() % 1_000_000) / 1_000_000 * Double(next() % 4_000 + 1))
        var value = rank
        var word = ""
        repeat {
            word += Self.syllables[value % Self.syllables.count]
            value /= Self.syllables.count
        } while value > 0
        return word
    }

    /// `words` words (10 to 29 at random when 0) and a unique last word.
    mutating func sentence(_ number: Int, words: Int = 0) -> String {
        let count = words > 0 ? words : 10 + Int(next() % 20)
        return (0..<count).map { _ in word() }.joined(separator: " ") + " item\(number)"
    }

    mutating func query(_ number: Int) -> String {
        let count = 2 + Int(next() % 5)
        return (0..<count).map { _ in word() }.joined(separator: " ")
    }

    mutating func record(_ number: Int, words: Int = 0) -> MemoryRecord {
        let now = Date()
        return MemoryRecord(
            id: "bench-\(number)", namespace: "bench", kind: .document, content: sentence(number, words: words),
            tags: [],
            createdAt: now, updatedAt: now, contentHash: "")
    }
}
