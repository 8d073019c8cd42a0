package import AgentAPI
package import AgentBasics
import FoundationEssentials
package import Packs
import Synchronization

/// The agent's pack jobs: the catalog directory, the install record, and at most one running install.
///
/// Finished jobs are kept (up to ``capacity``, and while their logs together stay within ``logBudget`` bytes;
/// the oldest finished job is forgotten first) so clients can read their outcome.
package final class PackJobTable: Sendable {
    /// The default byte budget of kept pack logs: 16 MiB.
    package static let defaultLogBudget = 16 << 20

    /// How many jobs are kept.
    package let capacity: Int
    /// The most bytes of log kept across jobs before finished jobs are forgotten (checked when a job starts).
    package let logBudget: Int
    /// The directory of the agent's own pack files (`packs_dir`).
    package let catalogDirectory: String
    package let settings: PackInstallSettings
    package let store: PackStore
    package let events: AgentEventLog
    /// Runs the installs.
    package let runner: JobRunnerService
    private let jobs = Mutex<[PackInstallJob]>([])

    package init(
        runner: JobRunnerService,
        catalogDirectory: String,
        dataDirectory: String,
        settings: PackInstallSettings,
        events: AgentEventLog,
        capacity: Int = 32,
        logBudget: Int = PackJobTable.defaultLogBudget
    ) {
        self.runner = runner
        self.logBudget = logBudget
        self.catalogDirectory = catalogDirectory
        self.settings = settings
        self.store = PackStore(dataDirectory: dataDirectory)
        self.events = events
        self.capacity = capacity
    }

    /// The packs of the catalog directory (none when it does not exist) and the problem loading it.
    package func catalog() -> (PackCatalog?, String?) {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: catalogDirectory, isDirectory: &isDirectory),
            isDirectory
        else { return (nil, nil) }
        do {
            return (try PackCatalog.load(directory: catalogDirectory), nil)
        } catch {
            return (nil, error.message)
        }
    }

    /// Known and installed packs. Blocking: call it on a thread pool.
    /// - Throws: ``AgentError`` (`io_error`) when the install record cannot be read.
    package func list() throws(AgentError) -> PacksResponse {
        let (catalog, problem) = catalog()
        let known = (catalog?.names ?? []).compactMap { catalog?.packs[$0] }.map {
            KnownPack(
                name: $0.name, version: $0.version, description: $0.description, requires: $0.requires,
                diskEstimateMB: $0.diskEstimateMB)
        }
        return PacksResponse(known: known, installed: try store.latest(), catalogError: problem)
    }

    /// Validates a request and starts its job. Blocking: call it on a thread pool.
    /// - Parameters:
    ///   - name: The pack named in the path.
    ///   - request: The body.
    /// - Throws: ``AgentError``: `bad_request` for a bad name, manifest or cache URL; `not_found` for a pack
    ///   neither given nor in the catalog (listing the known ones); `conflict` while another install runs or when
    ///   a required pack is not installed; `shutting_down` once the agent's shutdown has begun.
    package func start(name: String, request: PackInstallRequest) throws(AgentError) -> PackInstallJob {
        guard !name.isEmpty, name.utf8.count <= 64,
            name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else {
            throw AgentError(.badRequest, "name: '\(name)' is not a pack name ([a-z0-9_]+)")
        }
        let manifest: PackManifest
        if let given = request.manifest {
            guard given.name == name else {
                throw AgentError(.badRequest, "manifest.name: '\(given.name)' differs from the path's pack '\(name)'")
            }
            manifest = given
        } else {
            let (catalog, problem) = catalog()
            if let problem { throw AgentError(.notFound, "pack '\(name)' is not available: \(problem)") }
            guard let found = catalog?.packs[name] else {
                let known = catalog?.names ?? []
                let list = known.isEmpty ? "none" : known.joined(separator: ", ")
                throw AgentError(.notFound, "unknown pack '\(name)' (known: \(list)) in \(catalogDirectory)")
            }
            manifest = found
        }
        let cacheURL = try Self.cacheURL(request.cacheURL)
        try PackInstallJob.checkPipRequirements(request.pipRequirements, manifest: manifest)
        for required in manifest.requires {
            guard try store.installed(required) == nil else { continue }
            throw AgentError(
                .conflict, "pack '\(name)' requires '\(required)', which is not installed; install it first")
        }
        return try jobs.withLock { jobs throws(AgentError) in
            if let running = jobs.first(where: { !$0.isFinished }) {
                throw AgentError(
                    .conflict,
                    "pack job \(running.id) (\(running.manifest.name)) is still running; one install at a time")
            }
            while jobs.count >= capacity, let index = jobs.firstIndex(where: \.isFinished) {
                jobs.remove(at: index)
            }
            var kept = jobs.reduce(0) { $0 + Self.logBytes($1) }
            while kept > logBudget, let index = jobs.firstIndex(where: \.isFinished) {
                kept -= Self.logBytes(jobs[index])
                jobs.remove(at: index)
            }
            let job = try PackInstallJob.start(
                runner: runner, manifest: manifest, cacheURL: cacheURL, pipRequirements: request.pipRequirements,
                settings: settings,
                store: store
            ) {
                [events] finished in
                var metadata = [
                    "job_id": finished.id, "pack": finished.pack, "version": finished.version,
                    "state": finished.state.rawValue,
                ]
                if let step = finished.failedStep { metadata["failed_step"] = "\(step)" }
                events.record(
                    AgentEventKind.packFinished, "pack \(finished.pack) \(finished.version) \(finished.state.rawValue)",
                    metadata: metadata)
            }
            jobs.append(job)
            return job
        }
    }

    /// The bytes of log a job keeps (each line and its newline).
    package static func logBytes(_ job: PackInstallJob) -> Int {
        job.response(from: 0).log.reduce(0) { $0 + $1.utf8.count + 1 }
    }

    /// The job with this id.
    /// - Throws: ``AgentError`` `not_found`.
    package func job(_ id: String) throws(AgentError) -> PackInstallJob {
        guard let job = jobs.withLock({ $0.first { $0.id == id } }) else {
            throw AgentError(.notFound, "no pack job with id '\(id)'")
        }
        return job
    }

    /// `cache_url` without its trailing slashes, after checking it.
    package static func cacheURL(_ text: String?) throws(AgentError) -> String? {
        guard var text else { return nil }
        while text.hasSuffix("/") { text.removeLast() }
        let schemes = ["http://", "https://", "file://"]
        guard let scheme = schemes.first(where: { text.hasPrefix($0) }), text.count > scheme.count,
            !text.contains(where: {
                $0.isWhitespace || $0 == "[" || $0 == "]" || $0.asciiValue.map { $0 < 32 } ?? false
            })
        else {
            throw AgentError(.badRequest, "cache_url: must be an http://, https:// or file:// URL, not '\(text)'")
        }
        return text
    }
}
