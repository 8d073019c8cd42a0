package import AgentAPI
package import AgentBasics
import FoundationEssentials
import NIOPosix
package import Packs
import Subprocess
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where and how pack jobs install: the agent's configuration plus the paths tests move away from `/`.
package struct PackInstallSettings: Sendable {
    /// Prefix of every path a `files` step writes and of the venv root (`/` on a real guest).
    package var root: String
    /// The apt source list written when a cache is given (removed again when the step ends).
    package var aptSourcesFile: String
    /// The host's public pack-cache key, installed by the agent deployer; the cache's apt source is `signed-by` it.
    package var aptKeyring: String
    /// Extra `-o` options for every `apt-get` (tests point apt's state and cache at a temporary directory).
    package var aptOptions: [String]
    /// Time between SIGTERM and SIGKILL when a command is stopped.
    package var killGrace: Duration

    package init(
        root: String, aptSourcesFile: String = "/etc/apt/sources.list.d/somnus-pack-cache.list",
        aptKeyring: String = PackInstallRequest.aptKeyringPath, aptOptions: [String] = [],
        killGrace: Duration = .seconds(5)
    ) {
        self.root = root
        self.aptSourcesFile = aptSourcesFile
        self.aptKeyring = aptKeyring
        self.aptOptions = aptOptions
        self.killGrace = killGrace
    }

    /// `path` under ``root``.
    package func rooted(_ path: String) -> String {
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        return base + path
    }

    /// The value of `SOMNUS_PACK_ROOT`: ``root`` without its trailing slash (empty for `/`).
    package var rootVariable: String { rooted("") }

    /// The pack's virtual environment.
    package func virtualEnvironment(_ manifest: PackManifest) -> String {
        manifest.virtualEnvironment(root: rooted("/opt/somnus/packs"))
    }

    /// The hashed requirements file of one pip step (mode 0600, removed when the step ends).
    package func requirementsFile(_ manifest: PackManifest, step: Int) -> String {
        rooted("/opt/somnus/packs/\(manifest.name)/.requirements-step\(step + 1).txt")
    }
}

/// One install of one pack, in a task of the ``JobRunnerService``: steps in order with exit codes checked, then every verify check,
/// then the result goes to the ``PackStore``. Clients poll it by id.
package final class PackInstallJob: Sendable {
    /// How many log lines are kept (older ones are dropped and their offsets skipped).
    package static let logLimit = 20_000
    /// How many bytes of log lines a running job keeps (older lines are dropped the same way): 4 MiB.
    package static let logByteLimit = 4 << 20

    private struct Record {
        var state: PackJobState = .running
        var phase: PackJobPhase = .steps
        var stepIndex = 0
        var stepDescription = ""
        var log: [String] = []
        var logBytes = 0
        var droppedLines = 0
        var verify: [PackCheckResult] = []
        var alreadyInstalled = false
        var failedStep: Int?
        var error: String?
        var failureOutput: String?
        var finishedAt: Double?
        var cancelRequested = false
    }

    /// A step or check that failed: what to report and the output that shows why.
    private struct Failure: Error {
        var message: String
        var output: [String]
    }

    package let id: String
    package let manifest: PackManifest
    package let cacheURL: String?
    /// One hashed requirements list per `pip` step, or `nil` to install unpinned.
    package let pipRequirements: [[String]]?
    package let startedAt: Double
    private let settings: PackInstallSettings
    private let store: PackStore
    private let record = Mutex(Record())

    private init(
        manifest: PackManifest, cacheURL: String?, pipRequirements: [[String]]?, settings: PackInstallSettings,
        store: PackStore
    ) {
        self.id = UUID().uuidString.lowercased()
        self.manifest = manifest
        self.cacheURL = cacheURL
        self.pipRequirements = pipRequirements
        self.settings = settings
        self.store = store
        self.startedAt = Date().timeIntervalSince1970
    }

    /// Starts installing `manifest` in a task of `runner`.
    /// - Parameters:
    ///   - runner: The job runner that runs it (and cancels it when the agent shuts down).
    ///   - manifest: A validated pack.
    ///   - cacheURL: The host's pack cache without a trailing slash, or `nil`.
    ///   - pipRequirements: One hashed requirements list per `pip` step (checked with
    ///     ``checkPipRequirements(_:manifest:)``), or `nil` to install unpinned.
    ///   - settings: Paths and deadlines.
    ///   - store: Where the result is recorded (and where "already installed" is looked up).
    ///   - onFinish: Called with the final answer.
    /// - Throws: ``AgentError`` `shutting_down` once the runner's shutdown has begun.
    package static func start(
        runner: JobRunnerService,
        manifest: PackManifest,
        cacheURL: String?,
        pipRequirements: [[String]]? = nil,
        settings: PackInstallSettings,
        store: PackStore,
        onFinish: @escaping @Sendable (PackJobResponse) -> Void = { _ in }
    ) throws(AgentError) -> PackInstallJob {
        let job = PackInstallJob(
            manifest: manifest, cacheURL: cacheURL, pipRequirements: pipRequirements, settings: settings, store: store)
        job.record.withLock { $0.stepDescription = manifest.steps.first?.description ?? "" }
        // The job outlives the request that started it: the runner's task ends with its last step.
        try runner.start("pack install", stop: { job.cancel() }) {
            await job.run()
            onFinish(job.response(from: 0))
        }
        return job
    }

    /// Whether the job has finished.
    package var isFinished: Bool { record.withLock { $0.state.isFinal } }

    /// Asks the job to stop: the running command's process group is stopped and no later step runs.
    /// - Returns: `false` when the job had already finished.
    @discardableResult
    package func cancel() -> Bool {
        record.withLock { record in
            guard record.state == .running else { return false }
            record.cancelRequested = true
            return true
        }
    }

    /// The job as the wire shows it, with log lines from line `offset` on.
    package func response(from offset: Int) -> PackJobResponse {
        record.withLock { record in
            let end = record.droppedLines + record.log.count
            let start = min(max(offset, record.droppedLines), end)
            return PackJobResponse(
                id: id,
                pack: manifest.name,
                version: manifest.version,
                state: record.state,
                phase: record.phase,
                stepIndex: record.stepIndex,
                stepCount: manifest.steps.count,
                stepDescription: record.stepDescription,
                log: Array(record.log[(start - record.droppedLines)...]),
                logOffset: start,
                nextLogOffset: end,
                verify: record.verify,
                alreadyInstalled: record.alreadyInstalled,
                failedStep: record.failedStep,
                error: record.error,
                failureOutput: record.failureOutput,
                startedAt: startedAt,
                finishedAt: record.finishedAt
            )
        }
    }

    // MARK: The job's thread

    private var isCancelled: Bool { record.withLock { $0.cancelRequested } }

    private func log(_ line: String) {
        record.withLock { record in
            record.log.append(line)
            let trimmed = Self.trim(
                &record.log, bytes: record.logBytes + line.utf8.count, maxLines: Self.logLimit,
                maxBytes: Self.logByteLimit)
            record.logBytes = trimmed.bytes
            record.droppedLines += trimmed.dropped
        }
    }

    /// Drops the oldest lines of `log` until at most `maxLines` lines of at most `maxBytes` bytes in all are left;
    /// the newest line always stays.
    /// - Parameter bytes: The UTF-8 size of `log` as it is.
    /// - Returns: How many lines were dropped and the size of what is left.
    package static func trim(_ log: inout [String], bytes: Int, maxLines: Int, maxBytes: Int) -> (
        dropped: Int, bytes: Int
    ) {
        var drop = max(0, log.count - maxLines)
        var left = bytes - log.prefix(drop).reduce(0) { $0 + $1.utf8.count }
        while left > maxBytes && drop < log.count - 1 {
            left -= log[drop].utf8.count
            drop += 1
        }
        if drop > 0 { log.removeFirst(drop) }
        return (drop, left)
    }

    private func run() async {
        let label = "\(manifest.name) \(manifest.version)"
        do throws(Failure) {
            let installed = try await blocking { () throws(Failure) in
                do throws(AgentError) {
                    return try self.store.installed(self.manifest.name)
                } catch {
                    throw Failure(message: error.message, output: [])
                }
            }
            if let installed, installed.version == manifest.version {
                log("\(label) is already installed; nothing to do")
                await finish(.succeeded, alreadyInstalled: true)
                return
            }
        } catch {
            log("cannot read the pack database: \(error.message)")
            record.withLock { $0.error = "cannot read the pack database: \(error.message)" }
            await finish(.failed)
            return
        }
        log("installing \(label): \(manifest.steps.count) steps, \(manifest.verify.count) checks")
        var pipStep = 0
        for (index, step) in manifest.steps.enumerated() {
            record.withLock {
                $0.stepIndex = index
                $0.stepDescription = step.description
            }
            if isCancelled {
                await finish(.cancelled, error: "cancelled before step \(index + 1) (\(step.description))")
                return
            }
            log("==> step \(index + 1)/\(manifest.steps.count): \(step.description)")
            do {
                try await perform(step, pipStep: pipStep)
                if case .pip = step { pipStep += 1 }
            } catch {
                let state: PackJobState = isCancelled ? .cancelled : .failed
                let message = "step \(index + 1) (\(step.description)) \(error.message)"
                log("step \(index + 1) failed: \(error.message)")
                await finish(state, error: message, failedStep: index, output: error.output)
                return
            }
        }
        record.withLock { $0.phase = .verify }
        log("==> verify: \(manifest.verify.count) checks")
        var firstFailure: (Int, PackCheckResult, [String])?
        for (index, check) in manifest.verify.enumerated() {
            let (result, output) = await verify(check)
            record.withLock { $0.verify.append(result) }
            log("check \(index + 1) \(result.passed ? "passed" : "FAILED"): \(check.command)")
            if !result.passed, firstFailure == nil { firstFailure = (index, result, output) }
        }
        if let (index, result, output) = firstFailure {
            let state: PackJobState = isCancelled ? .cancelled : .failed
            let problem = result.problem ?? "failed"
            await finish(state, error: "verify check \(index + 1) (\(result.command)) \(problem)", output: output)
            return
        }
        log("\(label) installed")
        await finish(.succeeded)
    }

    private func finish(
        _ state: PackJobState,
        alreadyInstalled: Bool = false,
        error: String? = nil,
        failedStep: Int? = nil,
        output: [String] = []
    ) async {
        let finishedAt = Date().timeIntervalSince1970
        let tail = output.isEmpty ? nil : output.joined(separator: "\n")
        var recordError: String?
        if !alreadyInstalled {
            let install = InstalledPack(
                name: manifest.name, version: manifest.version, installedAt: finishedAt, result: state,
                failedStep: failedStep, error: error, outputTail: tail)
            do throws(Failure) {
                try await blocking { () throws(Failure) in
                    do throws(AgentError) {
                        try self.store.record(install, jobID: self.id)
                    } catch {
                        throw Failure(message: error.message, output: [])
                    }
                }
            } catch {
                recordError = "cannot record the result: \(error.message)"
                log(recordError ?? "")
            }
        }
        record.withLock { record in
            record.state = recordError == nil ? state : .failed
            record.phase = .done
            record.alreadyInstalled = alreadyInstalled
            record.failedStep = failedStep
            record.error = [error, recordError].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
            record.failureOutput = tail
            record.finishedAt = finishedAt
        }
    }

    // MARK: Steps

    private var runner: PackCommandRunner { PackCommandRunner(killGrace: settings.killGrace) }

    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["DEBIAN_FRONTEND"] = "noninteractive"
        environment["APT_LISTCHANGES_FRONTEND"] = "none"
        environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        environment["PIP_NO_INPUT"] = "1"
        environment["SOMNUS_PACK_NAME"] = manifest.name
        environment["SOMNUS_PACK_ROOT"] = settings.rootVariable
        environment["SOMNUS_PACK_VENV"] = settings.virtualEnvironment(manifest)
        if environment["PATH"] == nil {
            environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        }
        return environment
    }

    /// Runs a command of a step; throws unless it exits 0.
    private func command(
        _ argv: [String], timeout: Duration, environment: [String: String]? = nil
    ) async throws(Failure) {
        log("$ \(argv.joined(separator: " "))")
        let result = await runner.run(
            argv, environment: environment ?? self.environment, timeout: timeout,
            scope: JobProcess.jobScope("pack", id: id), isCancelled: { self.isCancelled }, onLine: { self.log($0) })
        guard result.exited(with: 0) else {
            throw Failure(message: "failed: \(argv[0]) \(result.outcome(timeout: timeout))", output: result.tail)
        }
    }

    // Typed: with an untyped `async throws` here, swiftc 6.3.1 crashes splitting the coroutine in -Osize builds.
    private func perform(_ step: PackStep, pipStep: Int) async throws(Failure) {
        switch step {
        case .apt(let packages, let timeout): try await installApt(packages, timeout: .seconds(timeout))
        case .pip(let packages, let timeout):
            try await installPip(packages, pipStep: pipStep, timeout: .seconds(timeout))
        case .files(let files): try await blocking { () throws(Failure) in for file in files { try self.write(file) } }
        case .shell(let shell):
            let timeout = Duration.seconds(shell.timeoutSeconds)
            log("$ \(shell.command)")
            let result = await runner.run(
                ["/bin/sh", "-c", shell.command], environment: environment, timeout: timeout,
                scope: JobProcess.jobScope("pack", id: id), isCancelled: { self.isCancelled }, onLine: { self.log($0) })
            guard result.exited(with: 0) else {
                throw Failure(message: result.outcome(timeout: timeout), output: result.tail)
            }
        }
    }

    private func installApt(_ packages: [String], timeout: Duration) async throws(Failure) {
        // A source left by an agent killed mid-step goes first: it is the pack's, never the guest's own.
        await removeFile(settings.aptSourcesFile)
        var options = settings.aptOptions
        if let cacheURL {
            guard access(settings.aptKeyring, R_OK) == 0 else {
                throw Failure(
                    message: "failed: the host's pack-cache key \(settings.aptKeyring) is missing; redeploy the agent "
                        + "(`somnus agent deploy --force`) to install it",
                    output: [])
            }
            let line = "deb [signed-by=\(settings.aptKeyring)] \(cacheURL)/apt ./\n"
            try await blocking { () throws(Failure) in
                try self.writeAtomically(self.settings.aptSourcesFile, contents: Data(line.utf8), mode: 0o644)
            }
            log("apt source: \(line.trimmed) (only this source, removed after the step)")
            options += [
                "-o", "Dir::Etc::sourcelist=\(settings.aptSourcesFile)", "-o", "Dir::Etc::sourceparts=-",
                "-o", "APT::Get::List-Cleanup=0",
            ]
        }
        do {
            // `--error-on=any`: an unreachable cache or a bad signature fails the step here instead of leaving stale
            // lists.
            try await command(["apt-get", "update", "--error-on=any"] + options, timeout: timeout)
            // `--force-unsafe-io`: dpkg skips its fsync before every rename. A crash mid-install is reverted to the
            // snapshot taken before the pack, and one sync(2) after the step makes the result durable.
            try await command(
                [
                    "apt-get", "install", "-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef",
                    "-o", "Dpkg::Options::=--force-confold", "-o", "Dpkg::Options::=--force-unsafe-io",
                ] + options + ["--"] + packages,
                timeout: timeout)
            _ = try? await blocking { sync() }
        } catch {
            if cacheURL != nil { await removeFile(settings.aptSourcesFile) }
            throw error
        }
        if cacheURL != nil { await removeFile(settings.aptSourcesFile) }
    }

    private func installPip(_ packages: [String], pipStep: Int, timeout: Duration) async throws(Failure) {
        let venv = settings.virtualEnvironment(manifest)
        if !FileManager.default.isExecutableFile(atPath: venv + "/bin/python") {
            try await command(["python3", "-m", "venv", "--system-site-packages", venv], timeout: .seconds(600))
        }
        var argv = [venv + "/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        if let cacheURL { argv += ["--no-index", "--find-links", "\(cacheURL)/wheels/"] }
        guard let pipRequirements else {
            try await command(argv + packages, timeout: timeout)
            return
        }
        guard pipStep < pipRequirements.count else {
            throw Failure(message: "failed: pip_requirements has no list for pip step \(pipStep + 1)", output: [])
        }
        let file = settings.requirementsFile(manifest, step: pipStep)
        let lines = pipRequirements[pipStep]
        try await blocking { () throws(Failure) in
            try self.writeAtomically(file, contents: Data((lines.joined(separator: "\n") + "\n").utf8), mode: 0o600)
        }
        log("pinned by the host: \(lines.count) wheels, each checked against its sha256")
        do {
            try await command(argv + ["--require-hashes", "--only-binary=:all:", "-r", file], timeout: timeout)
        } catch {
            await removeFile(file)
            throw error
        }
        await removeFile(file)
    }

    /// Removes a file the job wrote for one step; says so in the log when it cannot.
    private func removeFile(_ path: String) async {
        let problem = try? await blocking { () -> String? in
            unlink(path) != 0 && errno != ENOENT ? String(cString: strerror(errno)) : nil
        }
        if let problem { log("cannot remove \(path): \(problem)") }
    }

    /// Runs file and database work on `NIOThreadPool`, never on the cooperative pool: a write to a filesystem
    /// frozen for a snapshot blocks until the thaw, and must not hold up the tasks that serve the thaw.
    private func blocking<Value: Sendable>(
        _ body: @escaping @Sendable () throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        let result: Result<Value, Failure>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(Failure) -> Value in try body() }
            }
        } catch {
            throw Failure(message: "failed: the agent is shutting down", output: [])
        }
        return try result.get()
    }

    /// Checks hashed requirements from a request: one list per `pip` step, each line exactly
    /// `name==version --hash=sha256:HEX` (one or more hashes), so no pip option, URL or marker can ride along.
    /// - Parameters:
    ///   - lists: The request's `pip_requirements`.
    ///   - manifest: The pack they are for.
    /// - Throws: ``AgentError`` `bad_request` naming the bad line.
    package static func checkPipRequirements(_ lists: [[String]]?, manifest: PackManifest) throws(AgentError) {
        guard let lists else { return }
        let pipSteps = manifest.steps.filter { if case .pip = $0 { true } else { false } }.count
        guard lists.count == pipSteps else {
            throw AgentError(
                .badRequest,
                "pip_requirements: \(lists.count) lists for pack '\(manifest.name)', which has \(pipSteps) pip steps")
        }
        for (step, lines) in lists.enumerated() {
            guard !lines.isEmpty else {
                throw AgentError(.badRequest, "pip_requirements[\(step)]: empty")
            }
            for line in lines where !isPinnedRequirement(line) {
                throw AgentError(
                    .badRequest,
                    "pip_requirements[\(step)]: '\(line)' is not 'name==version --hash=sha256:HEX'")
            }
        }
    }

    package static func isPinnedRequirement(_ line: String) -> Bool {
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count >= 2, let pin = words.first else { return false }
        let parts = pin.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let versionCharacters = nameCharacters.union("+!")
        guard parts.count == 3, parts[1].isEmpty, !parts[0].isEmpty, !parts[2].isEmpty,
            parts[0].allSatisfy(nameCharacters.contains), parts[2].allSatisfy(versionCharacters.contains),
            parts[0].first?.isLetter == true || parts[0].first?.isNumber == true
        else { return false }
        let hex = Set("0123456789abcdef")
        return words.dropFirst().allSatisfy { word in
            word.hasPrefix("--hash=sha256:") && word.dropFirst(14).count == 64
                && word.dropFirst(14).allSatisfy(hex.contains)
        }
    }

    private func write(_ file: PackFile) throws(Failure) {
        let target = settings.rooted(file.path)
        try writeAtomically(target, contents: Data(file.content.utf8), mode: mode_t(file.permissions ?? 0o644))
        log("wrote \(target) (mode \(file.mode), \(file.content.utf8.count) bytes)")
    }

    /// Writes a temporary file next to `path`, sets its mode, syncs it and renames it over `path`.
    private func writeAtomically(_ path: String, contents: Data, mode: mode_t) throws(Failure) {
        let directory = path.parentDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(
                message: "failed: cannot create directory \(directory): \(error)", output: [])
        }
        let temporary = "\(directory)/.somnus-pack-\(UUID().uuidString.prefix(8)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw systemFailure("cannot create \(temporary)") }
        var failure: Failure?
        let written = contents.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        if !written {
            failure = systemFailure("cannot write \(temporary)")
        } else if fchmod(descriptor, mode) != 0 {
            failure = systemFailure("cannot set the mode of \(temporary)")
        } else if fsync(descriptor) != 0 {
            failure = systemFailure("cannot sync \(temporary)")
        }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = systemFailure("cannot rename it to \(path)") }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    private func systemFailure(_ what: String) -> Failure {
        Failure(message: "failed: \(what): \(String(cString: strerror(errno)))", output: [])
    }

    // MARK: Verify

    private func verify(_ check: PackCheck) async -> (PackCheckResult, [String]) {
        var environment = self.environment
        let venvBin = settings.virtualEnvironment(manifest) + "/bin"
        if FileManager.default.fileExists(atPath: venvBin) {
            environment["PATH"] = venvBin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        }
        let timeout = Duration.seconds(check.timeoutSeconds)
        let lines = Mutex<[String]>([])
        let result = await runner.run(
            check.command.arguments, environment: environment, timeout: timeout,
            scope: JobProcess.jobScope("pack", id: id), isCancelled: { self.isCancelled },
            onLine: { line in
                lines.withLock { $0.append(line) }
                self.log("  | \(line)")
            })
        let output = lines.withLock { $0.joined(separator: "\n") }
        var problem: String?
        if !result.exited(with: check.expectExit) {
            problem = "\(result.outcome(timeout: timeout)), expected status \(check.expectExit)"
        } else if !check.outputMatches(output) {
            problem = "output does not match /\(check.expectOutput ?? "")/"
        }
        let exitCode: Int? =
            if case .exited(let code) = result.termination { Int(code) } else { nil }
        let shown = result.tail.joined(separator: "\n")
        return (
            PackCheckResult(
                command: check.command.description, passed: problem == nil, exitCode: exitCode, output: shown,
                problem: problem),
            result.tail
        )
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
