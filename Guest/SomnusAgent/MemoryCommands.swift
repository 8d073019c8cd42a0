import AgentAPI
import AgentBasics
import AgentCore
import ArgumentParser
import FoundationEssentials
import MCPStdio

/// `somnus-agent memory …`: the agent's memory store over its unix socket.
struct MemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Store, search and manage memories through the running agent's unix socket.",
        discussion: """
            Exit status: 0 on success, 2 when the request is invalid (bad input, too large, bad flag value), \
            1 for every other failure (agent unreachable, not found, store degraded).
            """,
        subcommands: [
            MemoryAddCommand.self, MemorySearchCommand.self, MemoryGetCommand.self, MemoryForgetCommand.self,
            MemoryStatsCommand.self, MemoryExportCommand.self, MemoryImportCommand.self, MemoryRotateKeyCommand.self,
            MemoryRememberTurnCommand.self,
        ]
    )
}

/// Options every `memory` subcommand shares: where the agent is and how to print.
struct MemoryClientOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "The agent's JSON configuration file, read for its socket path.")
    var configPath = AgentConfiguration.defaultPath

    @Option(help: "The agent's unix socket (default: the configuration's, /run/somnus/agent.sock).")
    var socket: String?

    @Flag(help: "Print the agent's JSON answer instead of text.")
    var json = false

    /// A client for the configured socket.
    func client() throws -> AgentSocketClient {
        if let socket { return AgentSocketClient(socketPath: socket) }
        do {
            let configuration = try AgentConfiguration.load(path: configPath)
            return AgentSocketClient(socketPath: configuration.socketPath)
        } catch {
            throw MemoryCLI.fail("invalid configuration: \(error.message)", status: 2)
        }
    }
}

/// The `--namespace` option.
struct MemoryNamespaceOption: ParsableArguments {
    @Option(help: "The namespace (1–64 characters of A-Z a-z 0-9 . _ : -).")
    var namespace = "default"
}

/// Request and output helpers of the `memory` subcommands.
enum MemoryCLI {
    /// Writes `somnus-agent: <message>` to stderr and returns the exit code to throw.
    static func fail(_ message: String, status: Int32) -> ExitCode {
        StandardStreams.writeError("somnus-agent: \(message)\n")
        return ExitCode(status)
    }

    /// How long a command waits while the agent answers `memory_opening` (its store still opening after a start).
    static let openingWait: Duration = .seconds(120)

    /// Sends a request and returns a 2xx answer. While the agent answers 503 `memory_opening` the request is
    /// sent again every half second, for at most ``openingWait``.
    /// - Throws: `ExitCode(2)` for a 400 or 413 answer, `ExitCode(1)` otherwise, after printing the agent's error.
    static func call(
        _ client: AgentSocketClient,
        _ operationID: String,
        _ parameters: [String: JSONValue] = [:],
        body: [UInt8]? = nil,
        contentType: String = "application/json"
    ) async throws -> AgentSocketResponse {
        let method: String
        let path: String
        do {
            let operation = try AgentOperation(operationID)
            method = operation.method
            path = try operation.path(parameters)
        } catch {
            throw fail(error.message, status: 1)
        }
        let deadline = ContinuousClock.now + openingWait
        var response: AgentSocketResponse
        while true {
            do {
                response = try await client.send(method, path, body: body, contentType: contentType)
            } catch {
                throw fail(error.message, status: 1)
            }
            guard response.status == 503, response.apiError?.code == "memory_opening",
                ContinuousClock.now < deadline
            else { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        guard response.isSuccess else {
            let detail = response.apiError
            let text = detail.map { "\($0.code): \($0.message)" } ?? "HTTP \(response.status): \(response.text)"
            throw fail(text, status: response.status == 400 || response.status == 413 ? 2 : 1)
        }
        return response
    }

    /// Encodes a request body.
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw fail("cannot encode the request: \(error)", status: 1)
        }
    }

    /// Decodes a 2xx answer.
    static func decode<Value: Decodable>(_ type: Value.Type, _ response: AgentSocketResponse) throws -> Value {
        do {
            return try response.decode(type)
        } catch {
            throw fail(error.message, status: 1)
        }
    }

    /// Percent-encodes a path segment or query value.
    static func escape(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            let isLetterOrDigit =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            if isLetterOrDigit || "-._~:".utf8.contains(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Prints the answer's JSON body as it came.
    static func printJSON(_ response: AgentSocketResponse) {
        var text = response.text
        if !text.hasSuffix("\n") { text += "\n" }
        StandardStreams.write(text.utf8)
    }

    /// Reads all of standard input as UTF-8.
    static func readStandardInput() -> String {
        String(decoding: FileDescriptorReader.readAll(), as: UTF8.self)
    }

    /// The first line of `content`, cut to `width` characters.
    static func summary(_ content: String, width: Int = 100) -> String {
        let line = content.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        return line.count > width ? String(line.prefix(width - 1)) + "…" : line
    }

    /// A memory as labelled lines.
    static func describe(_ record: MemoryRecord) -> String {
        var lines = [
            "id:          \(record.id)",
            "namespace:   \(record.namespace)",
            "kind:        \(record.kind.rawValue)",
            "importance:  \(record.importance.rawValue)",
        ]
        if !record.tags.isEmpty { lines.append("tags:        \(record.tags.joined(separator: ", "))") }
        for key in record.metadata.keys.sorted() {
            lines.append("metadata:    \(key)=\(record.metadata[key] ?? "")")
        }
        lines.append("created:     \(record.createdAt.formatted(.iso8601))")
        lines.append("updated:     \(record.updatedAt.formatted(.iso8601))")
        lines.append("accessed:    \(record.accessCount) times")
        if let expiresAt = record.expiresAt { lines.append("expires:     \(expiresAt.formatted(.iso8601))") }
        lines.append("")
        lines.append(record.content)
        return lines.joined(separator: "\n")
    }

    /// Parses `KEY=VALUE` pairs.
    static func metadata(_ pairs: [String]) throws -> [String: String]? {
        guard !pairs.isEmpty else { return nil }
        var result: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw fail("--meta: '\(pair)' is not KEY=VALUE", status: 2)
            }
            result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return result
    }
}

extension MemoryCLI {
    /// Parses a `--kind` value.
    static func kind(_ text: String) throws -> MemoryKind {
        guard let kind = MemoryKind(rawValue: text) else {
            let known = MemoryKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("--kind: '\(text)' is not one of \(known)", status: 2)
        }
        return kind
    }

    /// Parses an `--importance` value.
    static func importance(_ text: String) throws -> MemoryImportance {
        guard let importance = MemoryImportance(rawValue: text) else {
            let known = MemoryImportance.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("--importance: '\(text)' is not one of \(known)", status: 2)
        }
        return importance
    }
}

/// `somnus-agent memory add`.
struct MemoryAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Store a memory (identical content is de-duplicated, near-duplicates merged)."
    )

    @OptionGroup var client: MemoryClientOptions
    @OptionGroup var namespace: MemoryNamespaceOption

    @Option(help: "What it is about: \(MemoryKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind = MemoryKind.coreFact.rawValue

    @Option(help: "How much it matters: \(MemoryImportance.allCases.map(\.rawValue).joined(separator: ", ")).")
    var importance = MemoryImportance.medium.rawValue

    @Option(name: .customLong("tag"), help: "A label (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("meta"), help: "A KEY=VALUE pair (repeatable).")
    var metadata: [String] = []

    @Option(name: .customLong("expires-in"), help: "Delete it after this many seconds regardless of importance.")
    var expiresIn: Int?

    @Argument(help: "The text to remember; '-' or nothing reads standard input.")
    var content: String?

    func run() async throws {
        let text = content == nil || content == "-" ? MemoryCLI.readStandardInput() : content ?? ""
        let request = MemoryCreateRequest(
            namespace: namespace.namespace,
            kind: try MemoryCLI.kind(kind),
            content: text,
            tags: tags.isEmpty ? nil : tags,
            metadata: try MemoryCLI.metadata(metadata),
            importance: try MemoryCLI.importance(importance),
            expiresAt: expiresIn.map { Date().addingTimeInterval(TimeInterval($0)) }
        )
        let response = try await MemoryCLI.call(
            try client.client(), "createMemory", body: try MemoryCLI.encode(request))
        if client.json { return MemoryCLI.printJSON(response) }
        let created = try MemoryCLI.decode(MemoryCreateResponse.self, response)
        print("\(created.outcome.rawValue) \(created.memory.id)")
    }
}

/// `somnus-agent memory search`.
struct MemorySearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search memories by meaning and keywords (hybrid BM25 + vector ranking)."
    )

    @OptionGroup var client: MemoryClientOptions
    @OptionGroup var namespace: MemoryNamespaceOption

    @Option(help: "How many hits at most (1–100).")
    var limit = 5

    @Option(name: .customLong("kind"), help: "Only this kind (repeatable).")
    var kinds: [String] = []

    @Option(name: .customLong("tag"), help: "Only memories with this tag (repeatable; all must match).")
    var tags: [String] = []

    @Option(name: .customLong("min-score"), help: "Only hits scoring at least this much.")
    var minScore: Double?

    @Argument(help: "The question or keywords.")
    var query: String

    func run() async throws {
        let request = MemorySearchRequest(
            namespace: namespace.namespace, query: query, limit: limit,
            kinds: kinds.isEmpty ? nil : try kinds.map { try MemoryCLI.kind($0) },
            tags: tags.isEmpty ? nil : tags, minScore: minScore)
        let response = try await MemoryCLI.call(
            try client.client(), "searchMemories", body: try MemoryCLI.encode(request))
        if client.json { return MemoryCLI.printJSON(response) }
        let result = try MemoryCLI.decode(MemorySearchResponse.self, response)
        if result.hits.isEmpty {
            print("no memories match")
            return
        }
        for hit in result.hits {
            let ranks = [hit.bm25Rank.map { "bm25 #\($0)" }, hit.vectorRank.map { "vector #\($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            let score = (hit.score * 1000).rounded() / 1000
            print(
                "\(score)\t\(hit.memory.id)\t\(hit.memory.kind.rawValue)\t\(MemoryCLI.summary(hit.memory.content))\t(\(ranks))"
            )
        }
    }
}

/// `somnus-agent memory get`.
struct MemoryGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one memory.")

    @OptionGroup var client: MemoryClientOptions
    @OptionGroup var namespace: MemoryNamespaceOption

    @Argument(help: "The memory's id.")
    var id: String

    func run() async throws {
        let response = try await MemoryCLI.call(
            try client.client(), "getMemory", ["id": .string(id), "namespace": .string(namespace.namespace)])
        if client.json { return MemoryCLI.printJSON(response) }
        print(MemoryCLI.describe(try MemoryCLI.decode(MemoryRecord.self, response)))
    }
}

/// `somnus-agent memory forget`.
struct MemoryForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forget", abstract: "Delete one memory.")

    @OptionGroup var client: MemoryClientOptions
    @OptionGroup var namespace: MemoryNamespaceOption

    @Argument(help: "The memory's id.")
    var id: String

    func run() async throws {
        _ = try await MemoryCLI.call(
            try client.client(), "deleteMemory", ["id": .string(id), "namespace": .string(namespace.namespace)])
        if client.json {
            print(#"{"deleted":"\#(id)"}"#)
        } else {
            print("forgot \(id)")
        }
    }
}

/// `somnus-agent memory stats`.
struct MemoryStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Count memories by namespace, kind and importance.")

    @OptionGroup var client: MemoryClientOptions

    @Option(help: "Only this namespace (default: all of them).")
    var namespace: String?

    func run() async throws {
        let response = try await MemoryCLI.call(
            try client.client(), "getMemoryStats", namespace.map { ["namespace": .string($0)] } ?? [:])
        if client.json { return MemoryCLI.printJSON(response) }
        let stats = try MemoryCLI.decode(MemoryStatsResponse.self, response)
        func counts(_ values: [String: Int]) -> String {
            values.isEmpty ? "-" : values.keys.sorted().map { "\($0)=\(values[$0] ?? 0)" }.joined(separator: " ")
        }
        print("total:        \(stats.total)")
        print("namespaces:   \(counts(stats.namespaces))")
        print("kinds:        \(counts(stats.kinds))")
        print("importances:  \(counts(stats.importances))")
        print("database:     \(stats.databaseBytes) bytes")
        print("embedder:     \(stats.embedder)")
    }
}

/// `somnus-agent memory export`.
struct MemoryExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write memories as JSON Lines (one decrypted record per line) to stdout or a file."
    )

    @OptionGroup var client: MemoryClientOptions

    @Option(help: "Only this namespace (default: all of them).")
    var namespace: String?

    @Option(name: .shortAndLong, help: "Write to this file (mode 0600) instead of stdout.")
    var output: String?

    func run() async throws {
        let response = try await MemoryCLI.call(
            try client.client(), "exportMemories", namespace.map { ["namespace": .string($0)] } ?? [:])
        guard let output else {
            StandardStreams.write(response.body)
            return
        }
        guard
            FileManager.default.createFile(
                atPath: output, contents: Data(response.body), attributes: [.posixPermissions: 0o600])
        else {
            throw MemoryCLI.fail("cannot write \(output)", status: 1)
        }
        let count = response.body.count { $0 == UInt8(ascii: "\n") }
        if client.json {
            print(#"{"exported":\#(count)}"#)
        } else {
            print("exported \(count) memories to \(output)")
        }
    }
}

/// `somnus-agent memory import`.
struct MemoryImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read memories as JSON Lines (as written by export) and store those not yet present."
    )

    @OptionGroup var client: MemoryClientOptions

    @Argument(help: "The JSON Lines file; '-' or nothing reads standard input.")
    var file: String?

    func run() async throws {
        let data: Data
        if let file, file != "-" {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw MemoryCLI.fail("cannot read \(file)", status: 2)
            }
            data = contents
        } else {
            data = Data(FileDescriptorReader.readAll())
        }
        let response = try await MemoryCLI.call(
            try client.client(), "importMemories", body: Array(data),
            contentType: "application/x-ndjson")
        if client.json { return MemoryCLI.printJSON(response) }
        let result = try MemoryCLI.decode(MemoryImportResponse.self, response)
        print("imported \(result.imported), skipped \(result.skipped)")
    }
}

/// `somnus-agent memory rotate-key`.
struct MemoryRotateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Make a new encryption key and re-encrypt every memory with it."
    )

    @OptionGroup var client: MemoryClientOptions

    func run() async throws {
        let response = try await MemoryCLI.call(try client.client(), "rotateMemoryKey")
        if client.json { return MemoryCLI.printJSON(response) }
        let result = try MemoryCLI.decode(MemoryRotateKeyResponse.self, response)
        print("re-encrypted \(result.reencrypted) memories with a new key")
    }
}

/// `somnus-agent memory remember-turn`.
struct MemoryRememberTurnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remember-turn",
        abstract: "Store a user/assistant exchange and the facts it reveals (name, workplace, preferences…)."
    )

    @OptionGroup var client: MemoryClientOptions
    @OptionGroup var namespace: MemoryNamespaceOption

    @Option(help: "What the user said.")
    var user: String

    @Option(help: "What the assistant answered.")
    var assistant: String

    func run() async throws {
        let request = MemoryTurnRequest(namespace: namespace.namespace, user: user, assistant: assistant)
        let response = try await MemoryCLI.call(
            try client.client(), "recordMemoryTurn", body: try MemoryCLI.encode(request))
        if client.json { return MemoryCLI.printJSON(response) }
        let result = try MemoryCLI.decode(MemoryTurnResponse.self, response)
        print("stored turn \(result.turn.id) (\(result.turn.importance.rawValue))")
        for fact in result.facts {
            print("fact \(fact.id): \(MemoryCLI.summary(fact.content))")
        }
    }
}
