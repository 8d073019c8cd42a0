/// What a verify check runs: an argv array (`["node", "--version"]`) or a shell line (`"node -v | grep v18"`).
public enum PackCommand: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The program (looked up in `PATH`) and its arguments.
    case argv([String])
    /// A command line run with `/bin/sh -c`.
    case shell(String)

    /// The argv that runs the command.
    public var arguments: [String] {
        switch self {
        case .argv(let argv): argv
        case .shell(let line): ["/bin/sh", "-c", line]
        }
    }

    /// The command as people read it.
    public var description: String {
        switch self {
        case .argv(let argv): argv.joined(separator: " ")
        case .shell(let line): line
        }
    }

    /// Decodes a string or an array of strings.
    /// - Parameter decoder: The decoder.
    /// - Throws: A problem naming the field.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let line = try? container.decode(String.self) {
            guard !line.allSatisfy(\.isWhitespace) else {
                throw PackFieldProblem(code: .invalidField, path: decoder.codingPath, problem: "must not be empty")
            }
            self = .shell(line)
        } else if let argv = try? container.decode([String].self) {
            guard let first = argv.first, !first.isEmpty else {
                throw PackFieldProblem(
                    code: .invalidField, path: decoder.codingPath, problem: "must not be empty or start with ''")
            }
            self = .argv(argv)
        } else {
            throw PackFieldProblem(
                code: .invalidField, path: decoder.codingPath,
                problem: "must be a command line string or an array of strings")
        }
    }

    /// Encodes the command as a string or an array.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .argv(let argv): try container.encode(argv)
        case .shell(let line): try container.encode(line)
        }
    }
}

/// One verify check: the command must exit with ``expectExit`` and, when ``expectOutput`` is set, its output
/// (standard output and standard error interleaved, lines joined with `\n`) must contain a match of that regular
/// expression.
public struct PackCheck: Codable, Sendable, Hashable {
    /// What to run.
    public var command: PackCommand
    /// The exit status that passes (default 0).
    public var expectExit: Int
    /// A regular expression the output must contain a match of.
    public var expectOutput: String?
    /// Seconds after which the check is killed and fails (1…600, default 60).
    public var timeoutSeconds: Int

    /// Creates a check.
    /// - Parameters:
    ///   - command: What to run.
    ///   - expectExit: The passing exit status.
    ///   - expectOutput: A regular expression the output must match.
    ///   - timeoutSeconds: 1…600.
    public init(command: PackCommand, expectExit: Int = 0, expectOutput: String? = nil, timeoutSeconds: Int = 60) {
        self.command = command
        self.expectExit = expectExit
        self.expectOutput = expectOutput
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case command
        case expectExit = "expect_exit"
        case expectOutput = "expect_output"
        case timeoutSeconds = "timeout_s"
    }

    /// Decodes a check, refusing unknown keys and invalid values.
    /// - Parameter decoder: The decoder.
    /// - Throws: A problem naming the field.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decode(PackCommand.self, forKey: .command)
        expectExit = try container.decodeIfPresent(Int.self, forKey: .expectExit) ?? 0
        expectOutput = try container.decodeIfPresent(String.self, forKey: .expectOutput)
        timeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? 60
        guard (0...255).contains(expectExit) else {
            throw container.problem(.expectExit, "must be 0…255, not \(expectExit)")
        }
        if let pattern = expectOutput {
            do {
                _ = try Regex(pattern)
            } catch {
                throw container.problem(.expectOutput, "is not a valid regular expression: '\(pattern)'")
            }
        }
        guard (1...600).contains(timeoutSeconds) else {
            throw container.problem(.timeoutSeconds, "must be 1…600, not \(timeoutSeconds)")
        }
    }

    /// Whether `output` contains a match of ``expectOutput`` (always `true` when it is not set).
    /// - Parameter output: The check's output.
    /// - Returns: Whether the output passes.
    public func outputMatches(_ output: String) -> Bool {
        guard let pattern = expectOutput else { return true }
        guard let regex = try? Regex(pattern) else { return false }
        return output.contains(regex)
    }
}
