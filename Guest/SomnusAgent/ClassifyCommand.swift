import ArgumentParser
import FoundationEssentials
import LogClassifier

#if canImport(Glibc)
    import Glibc
#endif

/// `somnus-agent classify [--json] [FILE…]`: classifies every line of the files (or of stdin) and writes one
/// result per input line, in order. Empty and non-UTF-8 lines are classified too; no line is dropped or merged.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify log lines from files or stdin (one result per input line)."
    )

    @Flag(help: "Write one JSON object per line: category, kind, confidence, template, suggestion, entities.")
    var json = false

    @Argument(help: "Log files to read in order (default: stdin).")
    var files: [String] = []

    func run() throws {
        let classifier = LogClassifier()
        var output = ClassifyOutput(json: json)
        if files.isEmpty {
            try Self.forEachLine(descriptor: STDIN_FILENO, name: "stdin") {
                output.write(classifier.classify(utf8: $0))
            }
        } else {
            for path in files {
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else {
                    let reason = String(cString: strerror(errno))
                    StandardStreams.writeError("somnus-agent: cannot open \(path): \(reason)\n")
                    throw ExitCode(1)
                }
                defer { close(descriptor) }
                try Self.forEachLine(descriptor: descriptor, name: path) {
                    output.write(classifier.classify(utf8: $0))
                }
            }
        }
        output.flush()
    }

    /// Calls `body` with every line (without its `\n`) read from `descriptor`; a final line without `\n` counts.
    static func forEachLine(descriptor: Int32, name: String, _ body: ([UInt8]) -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var line: [UInt8] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                StandardStreams.writeError("somnus-agent: cannot read \(name): \(reason)\n")
                throw ExitCode(1)
            }
            if count == 0 { break }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                line.append(contentsOf: buffer[start..<index])
                body(line)
                line.removeAll(keepingCapacity: true)
                start = index + 1
            }
            line.append(contentsOf: buffer[start..<count])
        }
        if !line.isEmpty { body(line) }
    }
}

/// Buffers stdout writes so large inputs do not cost one system call per line.
struct ClassifyOutput {
    let json: Bool
    private var pending: [UInt8] = []
    private let encoder: JSONEncoder

    init(json: Bool) {
        self.json = json
        encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
    }

    mutating func write(_ classification: LogClassification) {
        if json {
            // Keys in a fixed order, every key present (`suggestion` may be `null`).
            let fields: [(String, [UInt8]?)] = [
                ("category", fragment(classification.category)), ("kind", fragment(classification.kind)),
                ("confidence", fragment(classification.confidence)), ("template", fragment(classification.template)),
                ("suggestion", classification.suggestion.map { fragment($0) } ?? Array("null".utf8)),
                ("entities", fragment(classification.entities)),
            ]
            pending.append(UInt8(ascii: "{"))
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { pending.append(UInt8(ascii: ",")) }
                pending.append(contentsOf: "\"\(key)\":".utf8)
                pending.append(contentsOf: value ?? Array("null".utf8))
            }
            pending.append(UInt8(ascii: "}"))
        } else {
            let confidence = (classification.confidence * 100).rounded() / 100
            var text = "\(classification.category.rawValue)\t\(classification.kind.rawValue)\t\(confidence)\t"
            text += classification.template
            if let suggestion = classification.suggestion { text += "\t→ \(suggestion)" }
            pending.append(contentsOf: text.utf8)
        }
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 64 * 1024 { flush() }
    }

    /// One value as JSON text, or `nil` if it cannot be encoded.
    private func fragment(_ value: some Encodable) -> [UInt8]? {
        (try? encoder.encode(value)).map { [UInt8]($0) }
    }

    mutating func flush() {
        var offset = 0
        while offset < pending.count {
            let written = pending.withUnsafeBytes {
                Glibc.write(STDOUT_FILENO, $0.baseAddress.map { $0 + offset }, $0.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                break
            }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }
}
