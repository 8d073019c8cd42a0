import ArgumentParser
import Foundation
import LogClassifier

#if canImport(Glibc)
    import Glibc
#endif

/// `somnus-bench classify`: classifier throughput on one core over a generated mixed log, and memory.
struct ClassifyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classifier lines/s on one core over a mixed log (labeled lines with varying prefixes), and RSS.")
    @Option(help: "Lines in the generated log.") var lines = 1_000_000
    @Option(help: "The labeled data directory whose lines are mixed in.") var data = "Tests/LogClassifierTests/Data"
    @Option(help: "Share of lines taken from the failure classes (the rest: OTHER lines and plain info lines).")
    var failureShare = 0.15
    @Option(help: "Share of lines made unique (random words), so they miss the template cache.") var uniqueShare = 0.01
    @Option(help: "The classifier's template cache capacity.") var cache = 4096
    @Option(help: "Write the generated log to this file too.") var output: String?
    @Option(help: "Also run this somnus-agent's `classify` and `classify --json` over the log as a user would.")
    var cli: String?

    func run() async throws {
        let (failures, others) = try Self.load(data)
        guard !failures.isEmpty, !others.isEmpty else {
            throw ValidationError("no labeled lines under \(data); run from the repository root or pass --data")
        }
        var generator = MixedLogGenerator(failures: failures, others: others, seed: 42)
        var buffer: [UInt8] = []
        var ends: [Int] = []
        buffer.reserveCapacity(lines * 128)  // No regrowth: the peak RSS then reflects the classifier.
        ends.reserveCapacity(lines)
        for _ in 0..<lines {
            generator.appendLine(
                to: &buffer, failureShare: failureShare, uniqueShare: uniqueShare)
            ends.append(buffer.count)
            buffer.append(UInt8(ascii: "\n"))
        }
        if let output { try Data(buffer).write(to: URL(fileURLWithPath: output)) }
        if let cli {
            let path = output ?? NSTemporaryDirectory() + "somnus-bench-classify-\(getpid()).log"
            if output == nil { try Data(buffer).write(to: URL(fileURLWithPath: path)) }
            defer { if output == nil { try? FileManager.default.removeItem(atPath: path) } }
            for arguments in [["classify", path], ["classify", "--json", path]] {
                let (cpu, wall) = try Self.time(cli, arguments)
                print(
                    String(
                        format: "cli: %@ %@: %.0f lines per CPU second, %.0f lines/s wall (%.3f s CPU, %.3f s wall)",
                        cli, arguments.dropLast().joined(separator: " "), Double(lines) / cpu, Double(lines) / wall,
                        cpu, wall))
            }
        }
        let empty = Self.memory("VmRSS")
        let classifier = LogClassifier(cacheCapacity: cache)
        // The first line builds the shared rule automaton and model tables.
        _ = classifier.classify("warning: something failed")
        let before = Self.memory("VmRSS")
        // Counted in an array (a dictionary update per line would be a sizeable share of what is measured).
        let categories = LogCategory.allCases
        var counts = [Int](repeating: 0, count: categories.count)
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = cpuSeconds()
        buffer.withUnsafeBufferPointer { bytes in
            var from = 0
            for end in ends {
                let line = UnsafeBufferPointer(rebasing: bytes[from..<end])
                let category = classifier.classify(utf8: line).category
                counts[categories.firstIndex(of: category) ?? 0] += 1
                from = end + 1
            }
        }
        let elapsed = clock.now - start
        let seconds = elapsed / .seconds(1)
        let cpu = cpuSeconds() - cpuStart
        let peak = Self.memory("VmHWM")
        print(
            String(
                format: "classify: %d lines (%.1f MB) in %.3f s wall, %.3f s CPU = %.0f lines per CPU second "
                    + "(%.0f lines/s wall) on one core", lines, Double(buffer.count) / 1e6, seconds, cpu,
                Double(lines) / cpu, Double(lines) / seconds))
        print(
            String(
                format: "classifier built (rule automaton, model, their pages): RSS +%.2f MB",
                Double(before - empty) / 1e6))
        print(
            String(
                format: "memory: RSS %.1f MB before classifying (the log in memory), peak %.1f MB (+%.1f MB); "
                    + "%d templates cached (cap %d)", Double(before) / 1e6, Double(peak) / 1e6,
                Double(peak - before) / 1e6, classifier.cachedTemplateCount, cache))
        let summary = zip(categories, counts).map { "\($0.rawValue)=\($1)" }.joined(separator: " ")
        print("categories: \(summary)")
    }

    /// Runs `executable` with its output thrown away; returns its CPU seconds (user + system) and wall seconds.
    static func time(_ executable: String, _ arguments: [String]) throws -> (cpu: Double, wall: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let cpuBefore = childCPUSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        try process.run()
        process.waitUntilExit()
        let elapsed = clock.now - start
        guard process.terminationStatus == 0 else {
            throw ValidationError(
                "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return (childCPUSeconds() - cpuBefore, elapsed / .seconds(1))
    }

    /// Failure-class and OTHER lines of the labeled TSV files (`CATEGORY<TAB>kind<TAB>line`).
    static func load(_ directory: String) throws -> (failures: [String], others: [String]) {
        var failures: [String] = []
        var others: [String] = []
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tsv") }
        for file in files.sorted() {
            let text = try String(contentsOfFile: (directory as NSString).appendingPathComponent(file), encoding: .utf8)
            for row in text.split(separator: "\n") {
                let fields = row.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3 else { continue }
                if fields[0] == "OTHER" { others.append(String(fields[2])) } else { failures.append(String(fields[2])) }
            }
        }
        return (failures, others)
    }

    /// A `/proc/self/status` field in bytes.
    static func memory(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let number = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
            return (number.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }
}

/// Generates realistic log lines: a timestamp, a host, a program and a pid in front of a labeled line or an
/// info line with changing numbers, ids and addresses.
struct MixedLogGenerator {
    let failures: [String]
    let others: [String]
    private var state: UInt64

    static let programs = ["trainer", "nginx", "sshd", "kernel", "python3", "dockerd", "app", "systemd"]
    static let infoTemplates = [
        "INFO epoch %d step %d loss 0.%d lr 0.000%d",
        "GET /api/v1/items/%d HTTP/1.1 200 %d \"-\" \"curl/8.%d.0\"",
        "Accepted publickey for ubuntu from 10.0.%d.%d port %d ssh2",
        "Started Session %d of User ubuntu.",
        "worker %d processed batch %d in %d ms",
        "checkpoint saved to /data/run-%d/ckpt-%d.pt (%d MB)",
        "request id=%x user=%d latency=%dms status=ok",
        "eth0: link up, %d Mbps, full duplex, flow control %d",
    ]

    init(failures: [String], others: [String], seed: UInt64) {
        self.failures = failures
        self.others = others
        self.state = seed
    }

    mutating func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }

    /// Appends one line: a timestamp, the host, a program and a pid (varying numbers, as in a real file), then
    /// a labeled line (each with its own program, as a real log's lines come from fixed places), an info line with
    /// changing numbers, or (for `uniqueShare`) a line of random words that no cache has seen.
    mutating func appendLine(to buffer: inout [UInt8], failureShare: Double, uniqueShare: Double) {
        let roll = Double(next(1_000_000)) / 1_000_000
        let body: String
        let program: Int
        if roll < uniqueShare {
            let words = (0..<6).map { _ in String(next(Int(Int32.max)), radix: 36).filter(\.isLetter) }
            body = "warning: \(words.joined(separator: " ")) failed"
            program = 0
        } else if roll < uniqueShare + failureShare {
            let index = next(failures.count)
            body = failures[index]
            program = index
        } else if roll < uniqueShare + failureShare + 0.25 {
            let index = next(others.count)
            body = others[index]
            program = index
        } else {
            let index = next(Self.infoTemplates.count)
            body = String(format: Self.infoTemplates[index], next(100_000), next(100_000), next(100_000), next(1000))
            program = index
        }
        let prefix = String(
            format: "2026-11-%02dT%02d:%02d:%02d.%06dZ gpu-node-17 %@[%d]: ", 1 + next(28), next(24), next(60),
            next(60), next(1_000_000), Self.programs[program % Self.programs.count], 100 + next(60_000))
        buffer.append(contentsOf: prefix.utf8)
        buffer.append(contentsOf: body.utf8)
    }
}

/// User + system CPU time of this process, in seconds.
func cpuSeconds() -> Double {
    cpuSeconds(RUSAGE_SELF)
}

/// User + system CPU time of this process's waited-for children, in seconds.
func childCPUSeconds() -> Double {
    cpuSeconds(RUSAGE_CHILDREN)
}

private func cpuSeconds(_ who: __rusage_who) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
