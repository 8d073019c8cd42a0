import AgentAPI
import FoundationEssentials
import Hummingbird
import LogClassifier
import NIOPosix

/// `GET /v1/errors` (recent classified errors) and `POST /v1/classify` (ad-hoc classification).
struct ErrorsController {
    /// The largest `limit` of `GET /v1/errors`.
    static let maximumLimit = 1000
    /// The default `limit`.
    static let defaultLimit = 50

    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        let state = state
        router.get(RouterPath(AgentRoute.errors)) { request, _ in
            let query = request.uri.queryParameters
            let since = try Self.date(query["since"])
            let category = try Self.category(query["category"])
            let limit = try ExecController.integer(
                query["limit"], name: "limit", range: 1...Self.maximumLimit, default: Self.defaultLimit)
            let records = state.errors.recent(since: since, category: category, limit: limit)
            let response = ErrorsResponse(
                errors: records.map(Self.entry), counts: SystemSampler.errorCounts(state.errors.countsByCategory()))
            return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: response)
        }
        router.post(RouterPath(AgentRoute.classify)) { request, _ in
            let body = try await request.decodeJSON(ClassifyRequest.self)
            guard body.lines.count <= ClassifyRequest.maximumLines else {
                throw AgentError(
                    .payloadTooLarge,
                    "lines: at most \(ClassifyRequest.maximumLines) lines per request, not \(body.lines.count)")
            }
            let classifier = state.classifier
            let lines = body.lines
            let results: [ClassifiedLine]
            do {
                results = try await NIOThreadPool.singleton.runIfActive {
                    lines.map { Self.wire(classifier.classify($0)) }
                }
            } catch {
                throw AgentError(.internal, "the thread pool is not running", cause: error)
            }
            return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: ClassifyResponse(results: results))
        }
    }

    /// Parses `since`: ISO 8601 (`2026-01-02T03:04:05Z`, fractional seconds allowed) or Unix seconds.
    static func date(_ text: Substring?) throws(AgentError) -> Date? {
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
    static func category(_ text: Substring?) throws(AgentError) -> LogCategory? {
        guard let text else { return nil }
        guard let category = LogCategory(rawValue: text.uppercased()) else {
            let names = LogCategory.allCases.map(\.rawValue).joined(separator: ", ")
            throw AgentError(.badRequest, "category: must be one of \(names), not '\(text)'")
        }
        return category
    }

    static func entry(_ record: ErrorRecord) -> ErrorEntry {
        ErrorEntry(
            source: record.source, line: record.line, trace: record.trace, classification: wire(record.classification),
            count: record.count, firstSeen: record.firstSeen.timeIntervalSince1970,
            lastSeen: record.lastSeen.timeIntervalSince1970)
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
