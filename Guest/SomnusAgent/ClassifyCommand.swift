import ArgumentParser
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
///
/// `--json` lines are written byte by byte rather than through `JSONEncoder`: the output is what the encoder
/// writes for ``LogClassification`` (keys in its coding order, absent entities left out, `suggestion` `null`
/// when absent, numbers as the encoder spells them), at several times the speed.
struct ClassifyOutput {
    let json: Bool
    private var pending: [UInt8] = []

    init(json: Bool) {
        self.json = json
    }

    mutating func write(_ classification: LogClassification) {
        if json {
            appendJSON(classification)
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

    private mutating func appendJSON(_ classification: LogClassification) {
        append(raw: "{\"category\":")
        append(string: classification.category.rawValue)
        append(raw: ",\"kind\":")
        append(string: classification.kind.rawValue)
        append(raw: ",\"confidence\":")
        append(number: classification.confidence)
        append(raw: ",\"template\":")
        append(string: classification.template)
        append(raw: ",\"suggestion\":")
        if let suggestion = classification.suggestion {
            append(string: suggestion)
        } else {
            append(raw: "null")
        }
        append(raw: ",\"entities\":{")
        let entities = classification.entities
        var first = true
        func key(_ name: StaticString) {
            if !first { pending.append(UInt8(ascii: ",")) }
            first = false
            pending.append(UInt8(ascii: "\""))
            append(raw: name)
            append(raw: "\":")
        }
        func field(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            append(string: value)
        }
        field("module", entities.module)
        field("library", entities.library)
        field("command", entities.command)
        field("header", entities.header)
        field("host", entities.host)
        if let port = entities.port {
            key("port")
            append(raw: port.description)
        }
        if let path = entities.path {
            key("path")
            append(string: path)
        }
        if let exitStatus = entities.exitStatus {
            key("exit_status")
            append(raw: exitStatus.description)
        }
        if let signal = entities.signal {
            key("signal")
            append(string: signal)
        }
        append(raw: "}}")
    }

    private mutating func append(raw text: StaticString) {
        text.withUTF8Buffer { pending.append(contentsOf: $0) }
    }

    private mutating func append(raw text: String) {
        pending.append(contentsOf: text.utf8)
    }

    /// A number as `JSONEncoder` spells it: Swift's shortest form, without a trailing `.0`.
    private mutating func append(number: Double) {
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        pending.append(contentsOf: text.utf8)
    }

    /// A JSON string as `JSONEncoder` writes it with `.withoutEscapingSlashes`: `"` and `\\` escaped, control
    /// bytes as `\b \f \n \r \t` or `\u00xx`, everything else (UTF-8 included) as it is.
    private mutating func append(string: String) {
        var string = string
        string.withUTF8 { bytes in
            pending.append(UInt8(ascii: "\""))
            var start = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                pending.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): pending.append(byte)
                case 0x08: pending.append(UInt8(ascii: "b"))
                case 0x0C: pending.append(UInt8(ascii: "f"))
                case 0x0A: pending.append(UInt8(ascii: "n"))
                case 0x0D: pending.append(UInt8(ascii: "r"))
                case 0x09: pending.append(UInt8(ascii: "t"))
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    pending.append(contentsOf: [
                        UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                    ])
                }
            }
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            pending.append(UInt8(ascii: "\""))
        }
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
