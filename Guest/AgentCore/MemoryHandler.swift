import AgentAPI
import AgentAPIGenerated
import FoundationEssentials
import Memory
import NIOCore
import OpenAPIRuntime

/// The memory routes: `POST /v1/memories`, `GET|PATCH|DELETE /v1/memories/{id}`, `POST /v1/memories/search`,
/// `GET /v1/memories/stats`, `GET /v1/memories/export`, `POST /v1/memories/import`, `POST /v1/memories/turns`
/// and `POST /v1/memories/rotate-key`.
///
/// Store calls run on NIO's thread pool (``AgentMemory/withStore(_:)``). ``MemoryError`` codes become
/// `invalid_input` 400, `too_large` 413, `not_found` 404, `memory_degraded` 503 (also when the store could not be
/// opened), `memory_opening` 503 (while it opens in the background) and `storage_error` 500.
struct MemoryHandler {
    /// The collection's path.
    static let base = "/v1/memories"
    /// The most bytes `GET /v1/memories/export` answers with (64 MiB); a larger export is refused with 413.
    static let maxExportBytes = 64 << 20
    /// The namespace used when a route's `namespace` query parameter is absent.
    static let defaultNamespace = "default"

    let memory: AgentMemory

    func createMemory(_ input: Operations.CreateMemory.Input) async throws -> Operations.CreateMemory.Output {
        let body =
            switch input.body {
            case .json(let body): body
            }
        let created = try await memory.withStore { store throws(MemoryError) in try store.add(body) }
        return created.outcome == .created ? .created(.init(body: .json(created))) : .ok(.init(body: .json(created)))
    }

    func searchMemories(_ input: Operations.SearchMemories.Input) async throws -> Operations.SearchMemories.Output {
        let body =
            switch input.body {
            case .json(let body): body
            }
        return .ok(
            .init(body: .json(try await memory.withStore { store throws(MemoryError) in try store.search(body) })))
    }

    func getMemoryStats(_ input: Operations.GetMemoryStats.Input) async throws -> Operations.GetMemoryStats.Output {
        let namespace = try Self.namespace(input.query.namespace, required: false)
        let stats = try await memory.withStore { store throws(MemoryError) in try store.stats(namespace: namespace) }
        return .ok(.init(body: .json(stats)))
    }

    /// One record per line (JSON Lines), at most ``maxExportBytes``.
    func exportMemories(_ input: Operations.ExportMemories.Input) async throws -> Operations.ExportMemories.Output {
        let namespace = try Self.namespace(input.query.namespace, required: false)
        let lines = try await memory.withStore { store throws(MemoryError) in
            try Self.jsonLines(store.export(namespace: namespace))
        }
        return .ok(.init(body: .applicationXNdjson(HTTPBody(lines.readableBytesView))))
    }

    func importMemories(_ input: Operations.ImportMemories.Input) async throws -> Operations.ImportMemories.Output {
        let records: [MemoryRecord]
        switch input.body {
        case .applicationXNdjson(let body): records = try await Self.decodeJSONLines(body)
        case nil: records = []
        }
        let imported = try await memory.withStore { store throws(MemoryError) in try store.importRecords(records) }
        return .ok(.init(body: .json(imported)))
    }

    func recordMemoryTurn(_ input: Operations.RecordMemoryTurn.Input) async throws
        -> Operations.RecordMemoryTurn.Output
    {
        let body =
            switch input.body {
            case .json(let body): body
            }
        let turn = try await memory.withStore { store throws(MemoryError) in try store.rememberTurn(body) }
        return .created(.init(body: .json(turn)))
    }

    func rotateMemoryKey() async throws -> Operations.RotateMemoryKey.Output {
        .ok(.init(body: .json(try await memory.withStore { store throws(MemoryError) in try store.rotateKey() })))
    }

    func getMemory(_ input: Operations.GetMemory.Input) async throws -> Operations.GetMemory.Output {
        let (id, namespace) = (input.path.id, try Self.namespace(input.query.namespace))
        let record = try await memory.withStore { store throws(MemoryError) in
            try store.get(id: id, namespace: namespace)
        }
        return .ok(.init(body: .json(record)))
    }

    func updateMemory(_ input: Operations.UpdateMemory.Input) async throws -> Operations.UpdateMemory.Output {
        let (id, namespace) = (input.path.id, try Self.namespace(input.query.namespace))
        let patch =
            switch input.body {
            case .json(let patch): patch
            }
        let record = try await memory.withStore { store throws(MemoryError) in
            try store.update(id: id, namespace: namespace, patch)
        }
        return .ok(.init(body: .json(record)))
    }

    func deleteMemory(_ input: Operations.DeleteMemory.Input) async throws -> Operations.DeleteMemory.Output {
        let (id, namespace) = (input.path.id, try Self.namespace(input.query.namespace))
        try await memory.withStore { store throws(MemoryError) in try store.delete(id: id, namespace: namespace) }
        return .noContent(.init())
    }

    /// The `namespace` query parameter, validated; ``defaultNamespace`` when absent.
    /// - Throws: ``MemoryError`` `invalidInput` (400) for a bad name.
    static func namespace(_ value: String?) throws(MemoryError) -> String {
        try namespace(value, required: true) ?? defaultNamespace
    }

    /// The `namespace` query parameter: validated when present; `default` when absent and `required`.
    /// - Throws: ``MemoryError`` `invalidInput` (400) for a bad name.
    static func namespace(_ value: String?, required: Bool) throws(MemoryError) -> String? {
        guard let value else { return required ? defaultNamespace : nil }
        guard MemoryRecord.isValidNamespace(value) else {
            throw MemoryError(
                code: .invalidInput, message: "namespace: '\(value)' must be 1–64 characters of A-Z a-z 0-9 . _ : -")
        }
        return value
    }

    /// One record per line, each a JSON object with sorted keys.
    /// - Throws: ``MemoryError`` `tooLarge` past `maxBytes`, `storage` when a record cannot be encoded.
    static func jsonLines(_ records: [MemoryRecord], maxBytes: Int = maxExportBytes) throws(MemoryError) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var buffer = ByteBuffer()
        for record in records {
            do {
                buffer.writeBytes(try encoder.encode(record))
            } catch {
                throw MemoryError(code: .storage, message: "cannot encode memory \(record.id): \(error)")
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
            guard buffer.readableBytes <= maxBytes else {
                throw MemoryError(
                    code: .tooLarge,
                    message: "the export of \(records.count) memories is larger than \(maxBytes) bytes; "
                        + "export one namespace at a time (?namespace=)")
            }
        }
        return buffer
    }

    /// Reads a JSON Lines body (the transport holds it to ``AgentRequestContext/maxBodySize``): one
    /// ``MemoryRecord`` per non-empty line.
    /// - Throws: ``MemoryError`` `invalidInput` naming the first bad line.
    static func decodeJSONLines(_ body: HTTPBody) async throws -> [MemoryRecord] {
        let bytes = try await [UInt8](collecting: body, upTo: AgentRequestContext.maxBodySize)
        let decoder = JSONDecoder()
        var records: [MemoryRecord] = []
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            do {
                records.append(try decoder.decode(MemoryRecord.self, from: Data(line)))
            } catch {
                throw MemoryError(code: .invalidInput, message: "line \(index + 1): is not a memory record (\(error))")
            }
        }
        return records
    }
}

/// The memory operations of the generated protocol, answered by ``MemoryHandler``.
extension AgentAPIHandler {
    func createMemory(_ input: Operations.CreateMemory.Input) async throws -> Operations.CreateMemory.Output {
        try await memory.createMemory(input)
    }

    func searchMemories(_ input: Operations.SearchMemories.Input) async throws -> Operations.SearchMemories.Output {
        try await memory.searchMemories(input)
    }

    func getMemoryStats(_ input: Operations.GetMemoryStats.Input) async throws -> Operations.GetMemoryStats.Output {
        try await memory.getMemoryStats(input)
    }

    func exportMemories(_ input: Operations.ExportMemories.Input) async throws -> Operations.ExportMemories.Output {
        try await memory.exportMemories(input)
    }

    func importMemories(_ input: Operations.ImportMemories.Input) async throws -> Operations.ImportMemories.Output {
        try await memory.importMemories(input)
    }

    func recordMemoryTurn(_ input: Operations.RecordMemoryTurn.Input) async throws
        -> Operations.RecordMemoryTurn.Output
    {
        try await memory.recordMemoryTurn(input)
    }

    func rotateMemoryKey(_ input: Operations.RotateMemoryKey.Input) async throws -> Operations.RotateMemoryKey.Output {
        try await memory.rotateMemoryKey()
    }

    func getMemory(_ input: Operations.GetMemory.Input) async throws -> Operations.GetMemory.Output {
        try await memory.getMemory(input)
    }

    func updateMemory(_ input: Operations.UpdateMemory.Input) async throws -> Operations.UpdateMemory.Output {
        try await memory.updateMemory(input)
    }

    func deleteMemory(_ input: Operations.DeleteMemory.Input) async throws -> Operations.DeleteMemory.Output {
        try await memory.deleteMemory(input)
    }
}
