import Foundation
import LogClassifier
import Testing

/// `somnus-agent` beside this test bundle (both live in `.build/<triple>/debug`).
private let agentBinary: String = {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("somnus-agent").path
}()

/// Runs the agent binary with `arguments`, feeding `input` on stdin; returns (status, stdout, stderr).
private func runAgent(_ arguments: [String], input: [UInt8] = []) async throws -> (Int32, [UInt8], String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: agentBinary)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let writer = stdin.fileHandleForWriting
    let bytes = input
    async let written: Void = classifyOnThread {
        writer.write(Data(bytes))
        try writer.close()
    }
    let (out, err) = try await classifyOnThread {
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (out, err)
    }
    try await written
    return (process.terminationStatus, [UInt8](out), String(decoding: err, as: UTF8.self))
}

private func classifyOnThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

private func lines(_ bytes: [UInt8]) -> [[UInt8]] {
    var result = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Array($0) }
    if result.last == [] { result.removeLast() }
    return result
}

/// Mixed input: a failure, an empty line, invalid UTF-8, a blank-ish line and a final line without `\n`.
private let sample: [UInt8] =
    Array("ModuleNotFoundError: No module named 'cv2'\n\n".utf8) + [0xFF, 0xFE, 0x41, 0x0A]
    + Array("   \nconnect: Connection refused\nall good".utf8)

@Suite(
    "somnus-agent classify",
    .timeLimit(.minutes(1)),
    .enabled(if: FileManager.default.isExecutableFile(atPath: agentBinary), "build the somnus-agent product first")
)
struct ClassifyCommandTests {
    @Test("--json on stdin writes one complete JSON object per input line, in order")
    func jsonFromStdin() async throws {
        let (status, out, _) = try await runAgent(["classify", "--json"], input: sample)
        #expect(status == 0)
        let outputLines = lines(out)
        #expect(outputLines.count == 6)
        var categories: [String] = []
        for line in outputLines {
            #expect(String(decoding: line, as: UTF8.self).hasPrefix(#"{"category":""#))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect(Set(object.keys) == ["category", "kind", "confidence", "template", "suggestion", "entities"])
            categories.append(object["category"] as? String ?? "")
        }
        #expect(categories[0] == "DEPENDENCY_MISSING")
        #expect(categories[1] == "OTHER")
        #expect(categories[4] == "NETWORK_FAILURE")
        #expect(categories[5] == "OTHER")
    }

    @Test("Files are read in order and every line, empty or not UTF-8, yields one output line")
    func filesLineCount() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("classify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("a.log")
        let second = directory.appendingPathComponent("b.log")
        try Data(sample).write(to: first)
        var big: [UInt8] = []
        for index in 0..<3000 {
            big += index % 7 == 0 ? [] : Array("line \(index) Segmentation fault (core dumped)".utf8)
            if index % 11 == 0 { big += [0xC3, 0x28] }
            big.append(UInt8(ascii: "\n"))
        }
        try Data(big).write(to: second)
        let (status, out, _) = try await runAgent(["classify", "--json", first.path, second.path])
        #expect(status == 0)
        #expect(lines(out).count == 6 + 3000)
        let (plainStatus, plain, _) = try await runAgent(["classify", second.path, first.path])
        #expect(plainStatus == 0)
        let plainLines = lines(plain)
        #expect(plainLines.count == 3000 + 6)
        #expect(String(decoding: plainLines[3000], as: UTF8.self).hasPrefix("DEPENDENCY_MISSING\tmissing_module"))
    }

    @Test("Empty stdin writes nothing and succeeds")
    func emptyInput() async throws {
        let (status, out, _) = try await runAgent(["classify", "--json"])
        #expect(status == 0)
        #expect(out.isEmpty)
    }

    @Test("A missing file exits 1 naming the path")
    func missingFile() async throws {
        let path = "/nonexistent/\(UUID().uuidString).log"
        let (status, _, err) = try await runAgent(["classify", path])
        #expect(status == 1)
        #expect(err.contains("cannot open \(path): No such file or directory"))
    }

    /// `JSONEncoder` writes the entities' keys in hash order (which changes from process to process); the command
    /// writes them in their declaration order. Everything else is the same bytes.
    @Test("--json writes what JSONEncoder writes for the library's classification, byte for byte but key order")
    func jsonMatchesEncoder() async throws {
        var input: [[UInt8]] = [
            Array(#"ModuleNotFoundError: No module named 'cv2' "quoted" back\slash /usr/lib/x.so"#.utf8),
            Array("curl: (7) Failed to connect to 10.0.0.7 port 8443: Connection refused\t\ttabs".utf8),
            Array("make: *** [Makefile:12: all] Error 2 exit status 2 killed by SIGKILL".utf8),
            Array("error while loading shared libraries: libGL.so.1: cannot open shared object file".utf8),
            Array("fatal error: Python.h: No such file or directory; nvcc: command not found".utf8),
            Array("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 1.5 GiB free) é ü 中文 \u{2028}".utf8),
            [0x01, 0x08, 0x0C, 0x0D, 0x1F, 0x7F, 0x41, 0x22, 0x5C, 0x2F, 0xFF],
            [],
        ]
        var generator = SystemRandomNumberGenerator()
        let fragments = ["error", "/var/lib/x", "127.0.0.1:8080", "0x1f", "\"", "\\", "\t", "é", "exit code 3", "  "]
        for _ in 0..<500 {
            let words = (0..<8).map { _ in fragments.randomElement(using: &generator) ?? "" }
            input.append(Array(words.joined(separator: " ").utf8) + [UInt8.random(in: 0...0x1F, using: &generator)])
        }
        let bytes = input.flatMap { $0.filter { $0 != 0x0A } + [0x0A] }
        let (status, out, _) = try await runAgent(["classify", "--json"], input: bytes)
        #expect(status == 0)
        let classifier = LogClassifier()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let expected = try lines(bytes).map { [UInt8](try encoder.encode(classifier.classify(utf8: $0))) }
        let written = lines(out)
        #expect(written.count == expected.count)
        for (got, want) in zip(written, expected) where got != want {
            // The command always writes `suggestion` (`null` when absent), which the synthesized encoding leaves out.
            var wanted = try #require(try JSONSerialization.jsonObject(with: Data(want)) as? [String: Any])
            var wantBytes = want
            if wanted["suggestion"] == nil {
                wanted["suggestion"] = NSNull()
                wantBytes += Array(#","suggestion":null"#.utf8)
            }
            let object = try JSONSerialization.jsonObject(with: Data(got)) as? NSDictionary
            let same = got.sorted() == wantBytes.sorted() && object == (wanted as NSDictionary)
            if same { continue }
            Issue.record(
                "wrote \(String(decoding: got, as: UTF8.self)); JSONEncoder: \(String(decoding: want, as: UTF8.self))")
        }
    }
}
