import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentLogMonitor
import AgentSystem
import FoundationEssentials
import LogClassifier
import Memory
import NIOPosix

/// `GET /v1/errors` (recent classified errors with their recorded fixes), `POST /v1/errors/fixes` (record a fix)
/// and `POST /v1/classify` (ad-hoc classification).
struct ErrorsHandler {
    /// The largest `limit` of `GET /v1/errors`.
    static let maximumLimit = 1000
    /// The default `limit`.
    static let defaultLimit = 50

    let errors: ErrorStore
    let classifier: LogClassifier
    /// Where fixes are kept.
    let memory: AgentMemory
    let freeze: FreezeState
    /// Looks up the fixes recorded for listed errors.
    let finder: ErrorFixFinder

    init(errors: ErrorStore, classifier: LogClassifier, memory: AgentMemory, freeze: FreezeState) {
        self.errors = errors
        self.classifier = classifier
        self.memory = memory
        self.freeze = freeze
        self.finder = ErrorFixFinder(memory: memory, holdsWrites: { freeze.holdsWrites })
    }

    func listErrors(_ input: Operations.ListErrors.Input) async throws -> Operations.ListErrors.Output {
        let query = input.query
        let since = try Self.date(query.since)
        let category = try Self.category(query.category)
        let limit = try AgentQuery.integer(
            query.limit, name: "limit", range: 1...Self.maximumLimit, default: Self.defaultLimit)
        // The list and the counts are read together, before the fixes are looked up.
        let records = errors.recent(since: since, category: category, limit: limit)
        let counts = SystemSampler.errorCounts(errors.countsByCategory())
        let fixes = await finder.fixes(for: records)
        let response = ErrorsResponse(errors: zip(records, fixes).map { Self.entry($0, fixes: $1) }, counts: counts)
        return .ok(.init(body: .json(response)))
    }

    func recordErrorFix(_ input: Operations.RecordErrorFix.Input) async throws -> Operations.RecordErrorFix.Output {
        let body =
            switch input.body {
            case .json(let body): body
            }
        let namespace = try Self.validate(body)
        guard !freeze.holdsWrites else {
            throw AgentError(.conflict, "filesystems are frozen: recording a fix writes to disk; retry after the thaw")
        }
        let classifier = classifier
        let known = body.template.flatMap { errors.recentClassification(template: $0) }
        let fix = try await memory.withStore { store throws(MemoryError) in
            // A line is classified for its template; a template takes the verdict of a listed error with it, or of
            // the template itself.
            let classification = known ?? classifier.classify(body.line ?? body.template ?? "")
            if body.line != nil, classification.category == .other {
                throw MemoryError(
                    code: .invalidInput,
                    message: "line: the classifier finds no error in it (category OTHER); give the template "
                        + "GET /v1/errors shows instead")
            }
            let template = (body.template ?? classification.template).clipped(toUTF8: ErrorStore.maxTemplateBytes)
            let metadata = ErrorFixFinder.metadata(
                for: classification, template: template, line: body.line?.clipped(toUTF8: ErrorStore.maxLineBytes))
            var memory = try store.add(
                MemoryCreateRequest(
                    namespace: namespace, kind: .errorFix, content: body.fix, tags: body.tags, metadata: metadata,
                    importance: .high)
            ).memory
            if let linked = ErrorFixFinder.linking(memory.metadata, to: metadata) {
                memory = try store.update(id: memory.id, namespace: namespace, MemoryUpdateRequest(metadata: linked))
            }
            return ErrorFixFinder.recorded(memory, template: template)
        }
        finder.invalidate()
        return .created(.init(body: .json(ErrorFixResponse(fix: fix))))
    }

    func classifyLines(_ input: Operations.ClassifyLines.Input) async throws -> Operations.ClassifyLines.Output {
        let body =
            switch input.body {
            case .json(let body): body
            }
        guard body.lines.count <= ClassifyRequest.maximumLines else {
            throw AgentError(
                .payloadTooLarge,
                "lines: at most \(ClassifyRequest.maximumLines) lines per request, not \(body.lines.count)")
        }
        let (classifier, lines) = (classifier, body.lines)
        let results: [ClassifiedLine]
        do {
            results = try await NIOThreadPool.singleton.runIfActive { lines.map { Self.wire(classifier.classify($0)) } }
        } catch {
            throw AgentError(.internal, "the thread pool is not running", cause: error)
        }
        return .ok(.init(body: .json(ClassifyResponse(results: results))))
    }

    /// Parses `since`: ISO 8601 (`2026-01-02T03:04:05Z`, fractional seconds allowed) or Unix seconds.
    static func date(_ text: String?) throws(AgentError) -> Date? {
        guard let text else { return nil }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return Date(timeIntervalSince1970: seconds) }
        let value = String(text)
        if let date = try? Date(value, strategy: .iso8601) { return date }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        if let date = try? Date(value, strategy: fractional) { return date }
        throw AgentError(
            .badRequest, "since: must be an ISO 8601 time such as 2026-01-02T03:04:05Z or Unix seconds, not '\(text)'")
    }

    /// Parses `category`: one of the category spellings, in any case.
    static func category(_ text: String?) throws(AgentError) -> LogCategory? {
        guard let text else { return nil }
        guard let category = LogCategory(rawValue: text.uppercased()) else {
            let names = LogCategory.allCases.map(\.rawValue).joined(separator: ", ")
            throw AgentError(.badRequest, "category: must be one of \(names), not '\(text)'")
        }
        return category
    }

    /// Checks a fix request's fields.
    /// - Returns: The namespace to store into.
    /// - Throws: ``AgentError`` `bad_request` naming the first bad field.
    static func validate(_ body: ErrorFixRequest) throws(AgentError) -> String {
        let limit = ErrorFixRequest.maximumFixBytes
        for (name, value) in [("fix", body.fix), ("template", body.template), ("line", body.line)] {
            guard let value else { continue }
            guard !value.allSatisfy(\.isWhitespace) else { throw AgentError(.badRequest, "\(name): must not be empty") }
            guard value.utf8.count <= limit else {
                throw AgentError(.badRequest, "\(name): is \(value.utf8.count) bytes; the limit is \(limit) bytes")
            }
        }
        switch (body.template, body.line) {
        case (nil, nil):
            throw AgentError(.badRequest, "template: give exactly one of template or line (neither was given)")
        case (.some, .some): throw AgentError(.badRequest, "line: give exactly one of template or line, not both")
        default: break
        }
        let namespace = body.namespace ?? ErrorFixRequest.defaultNamespace
        guard MemoryRecord.isValidNamespace(namespace) else {
            throw AgentError(
                .badRequest, "namespace: '\(namespace)' must be 1–64 characters of A-Z a-z 0-9 . _ : -")
        }
        let tags = body.tags ?? []
        guard tags.count <= 64 else { throw AgentError(.badRequest, "tags: at most 64, not \(tags.count)") }
        for (position, tag) in tags.enumerated() where tag.allSatisfy(\.isWhitespace) || tag.utf8.count > 256 {
            throw AgentError(.badRequest, "tags[\(position)]: must be 1 to 256 bytes and not blank")
        }
        return namespace
    }

    static func entry(_ record: ErrorRecord, fixes: [ErrorFix]) -> ErrorEntry {
        ErrorEntry(
            source: record.source, line: record.line, trace: record.trace, classification: wire(record.classification),
            count: record.count, firstSeen: record.firstSeen.timeIntervalSince1970,
            lastSeen: record.lastSeen.timeIntervalSince1970, fixes: fixes)
    }

    static func wire(_ classification: LogClassification) -> ClassifiedLine {
        let entities = classification.entities
        return ClassifiedLine(
            category: classification.category.rawValue, kind: classification.kind.rawValue,
            confidence: classification.confidence, template: classification.template,
            suggestion: classification.suggestion,
            entities: ErrorEntities(
                module: entities.module, library: entities.library, command: entities.command, header: entities.header,
                host: entities.host, port: entities.port, path: entities.path, exitStatus: entities.exitStatus,
                signal: entities.signal))
    }
}

/// The errors operations of the generated protocol, answered by ``ErrorsHandler``.
extension AgentAPIHandler {
    func listErrors(_ input: Operations.ListErrors.Input) async throws -> Operations.ListErrors.Output {
        try await errors.listErrors(input)
    }

    func recordErrorFix(_ input: Operations.RecordErrorFix.Input) async throws -> Operations.RecordErrorFix.Output {
        try await errors.recordErrorFix(input)
    }

    func classifyLines(_ input: Operations.ClassifyLines.Input) async throws -> Operations.ClassifyLines.Output {
        try await errors.classifyLines(input)
    }
}
