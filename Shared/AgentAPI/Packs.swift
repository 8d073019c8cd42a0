public import Packs

extension AgentRoute {
    /// `GET`: known and installed packs (``PacksResponse``).
    public static let packs = "/v1/packs"

    /// `POST`: start installing a pack (``PackInstallRequest`` → 202 ``JobStartResponse``).
    /// - Parameter name: The pack's name.
    /// - Returns: `/v1/packs/NAME/install`.
    public static func packInstall(_ name: String) -> String { "/v1/packs/\(name)/install" }

    /// `GET`: a pack job's progress (``PackJobResponse``); `?offset=N` returns log lines from line N.
    /// - Parameter id: The job's id.
    /// - Returns: `/v1/packs/jobs/ID`.
    public static func packJob(_ id: String) -> String { "/v1/packs/jobs/\(id)" }
}

/// Body of `POST /v1/packs/{name}/install`; an empty object installs the agent's own catalog entry.
///
/// The request names where to download from and which files to accept, never which keys to trust: apt checks the
/// cache's signature against the keyring installed at deploy time (``PackInstallRequest/aptKeyringPath``), and pip
/// checks every wheel against ``pipRequirements``.
public struct PackInstallRequest: Codable, Sendable, Equatable {
    /// Where the host's public pack-cache key is installed in the guest (over SSH, when the agent is deployed):
    /// the apt source names it in `signed-by`.
    public static let aptKeyringPath = "/etc/somnus/pack-cache.gpg"

    /// The pack to install; wins over the agent's catalog entry of the same name. Its `name` must equal the path's.
    public var manifest: PackManifest?
    /// The host's pack cache, such as `http://192.168.213.1:9902`: a signed flat apt repository at
    /// `<cache_url>/apt`, used as the only apt source as
    /// `deb [signed-by=/etc/somnus/pack-cache.gpg] <cache_url>/apt ./` (removed again after the install), and
    /// wheels at `<cache_url>/wheels/` (used with `pip --no-index`). When absent, apt uses the guest's own sources
    /// and pip its default index.
    public var cacheURL: String?
    /// `pip_requirements`: one list per `pip` step of the pack, in step order. Each list is the step's whole
    /// resolved wheel set, dependencies included, one `name==version --hash=sha256:HEX` line per wheel (several
    /// `--hash=` options allowed), computed by the host when it fetched the wheels. The step then runs
    /// `pip install --require-hashes -r FILE` with these lines, so a wheel whose hash differs is refused. Lines
    /// with anything else (pip options, URLs, markers) are refused with 400. When absent, pip steps install their
    /// requirements unpinned (the behaviour of hosts that predate the field).
    public var pipRequirements: [[String]]?

    /// Creates an install request.
    /// - Parameters:
    ///   - manifest: The pack, or `nil` for the agent's catalog entry.
    ///   - cacheURL: The host's pack cache.
    ///   - pipRequirements: Pinned, hashed requirements, one list per `pip` step.
    public init(manifest: PackManifest? = nil, cacheURL: String? = nil, pipRequirements: [[String]]? = nil) {
        self.manifest = manifest
        self.cacheURL = cacheURL
        self.pipRequirements = pipRequirements
    }

    enum CodingKeys: String, CodingKey {
        case manifest
        case cacheURL = "cache_url"
        case pipRequirements = "pip_requirements"
    }
}

/// The state of a pack job.
public enum PackJobState: String, Codable, Sendable, Hashable {
    /// Steps or checks still run.
    case running
    /// Every step and every check passed (or the same version was already installed).
    case succeeded
    /// A step or a check failed; see ``PackJobResponse/failedStep`` and ``PackJobResponse/failureOutput``.
    case failed
    /// The agent stopped it.
    case cancelled

    /// Whether the job has finished.
    public var isFinal: Bool { self != .running }
}

/// Where a pack job is.
public enum PackJobPhase: String, Codable, Sendable, Hashable {
    /// Running ``PackJobResponse/stepIndex``.
    case steps
    /// Running the verify checks.
    case verify
    /// Finished.
    case done
}

/// The outcome of one verify check.
public struct PackCheckResult: Codable, Sendable, Equatable {
    /// The check's command as people read it.
    public var command: String
    /// Whether it passed.
    public var passed: Bool
    /// Its exit status, when it exited.
    public var exitCode: Int?
    /// The end of its output (standard output then standard error).
    public var output: String
    /// Why it failed, when it did.
    public var problem: String?

    /// Creates a check result.
    public init(command: String, passed: Bool, exitCode: Int?, output: String, problem: String?) {
        self.command = command
        self.passed = passed
        self.exitCode = exitCode
        self.output = output
        self.problem = problem
    }

    enum CodingKeys: String, CodingKey {
        case command, passed, output, problem
        case exitCode = "exit_code"
    }
}

/// Body of `GET /v1/packs/jobs/{id}?offset=N`.
public struct PackJobResponse: Codable, Sendable, Equatable {
    /// The job's id.
    public var id: String
    /// The pack's name.
    public var pack: String
    /// The pack's version.
    public var version: String
    /// The job's state.
    public var state: PackJobState
    /// Steps, verify or done.
    public var phase: PackJobPhase
    /// The index (0-based) of the step that runs, or of the last one run.
    public var stepIndex: Int
    /// How many steps the pack has.
    public var stepCount: Int
    /// A one-line summary of that step, such as `apt: git curl`.
    public var stepDescription: String
    /// The log lines from ``logOffset`` on.
    public var log: [String]
    /// The line number (0-based) of the first line of ``log``.
    public var logOffset: Int
    /// The line number to ask for next (`?offset=`).
    public var nextLogOffset: Int
    /// The verify checks run so far.
    public var verify: [PackCheckResult]
    /// Whether the same version was already installed, so nothing ran.
    public var alreadyInstalled: Bool
    /// The index of the step that failed, when one did.
    public var failedStep: Int?
    /// What failed, such as `step 2 (shell: false) exited with status 1` or `verify check 1 failed`.
    public var error: String?
    /// The end of the failing step's or check's output.
    public var failureOutput: String?
    /// Seconds since the Unix epoch when it started.
    public var startedAt: Double
    /// Seconds since the Unix epoch when it finished.
    public var finishedAt: Double?

    /// Creates a job answer.
    public init(
        id: String,
        pack: String,
        version: String,
        state: PackJobState,
        phase: PackJobPhase,
        stepIndex: Int,
        stepCount: Int,
        stepDescription: String,
        log: [String],
        logOffset: Int,
        nextLogOffset: Int,
        verify: [PackCheckResult],
        alreadyInstalled: Bool,
        failedStep: Int?,
        error: String?,
        failureOutput: String?,
        startedAt: Double,
        finishedAt: Double?
    ) {
        self.id = id
        self.pack = pack
        self.version = version
        self.state = state
        self.phase = phase
        self.stepIndex = stepIndex
        self.stepCount = stepCount
        self.stepDescription = stepDescription
        self.log = log
        self.logOffset = logOffset
        self.nextLogOffset = nextLogOffset
        self.verify = verify
        self.alreadyInstalled = alreadyInstalled
        self.failedStep = failedStep
        self.error = error
        self.failureOutput = failureOutput
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, pack, version, state, phase, log, verify, error
        case stepIndex = "step_index"
        case stepCount = "step_count"
        case stepDescription = "step_description"
        case logOffset = "log_offset"
        case nextLogOffset = "next_log_offset"
        case alreadyInstalled = "already_installed"
        case failedStep = "failed_step"
        case failureOutput = "failure_output"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

/// A pack of the agent's catalog directory.
public struct KnownPack: Codable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its version.
    public var version: String
    /// Its description.
    public var description: String
    /// The packs it requires.
    public var requires: [String]
    /// Its disk estimate in megabytes.
    public var diskEstimateMB: Int

    /// Creates a catalog entry.
    public init(name: String, version: String, description: String, requires: [String], diskEstimateMB: Int) {
        self.name = name
        self.version = version
        self.description = description
        self.requires = requires
        self.diskEstimateMB = diskEstimateMB
    }

    enum CodingKeys: String, CodingKey {
        case name, version, description, requires
        case diskEstimateMB = "disk_estimate_mb"
    }
}

/// The latest install of one pack recorded in the agent's database.
public struct InstalledPack: Codable, Sendable, Equatable {
    /// The pack's name.
    public var name: String
    /// The version installed (or tried).
    public var version: String
    /// Seconds since the Unix epoch when the install finished.
    public var installedAt: Double
    /// `succeeded` or `failed`.
    public var result: PackJobState
    /// The step that failed, when one did.
    public var failedStep: Int?
    /// What failed.
    public var error: String?
    /// The end of the failing step's output.
    public var outputTail: String?

    /// Creates an install record.
    public init(
        name: String,
        version: String,
        installedAt: Double,
        result: PackJobState,
        failedStep: Int?,
        error: String?,
        outputTail: String?
    ) {
        self.name = name
        self.version = version
        self.installedAt = installedAt
        self.result = result
        self.failedStep = failedStep
        self.error = error
        self.outputTail = outputTail
    }

    enum CodingKeys: String, CodingKey {
        case name, version, result, error
        case installedAt = "installed_at"
        case failedStep = "failed_step"
        case outputTail = "output_tail"
    }
}

/// Body of `GET /v1/packs`.
public struct PacksResponse: Codable, Sendable, Equatable {
    /// The packs of the agent's catalog directory, by name.
    public var known: [KnownPack]
    /// The latest recorded install of each pack, by name (including failed ones).
    public var installed: [InstalledPack]
    /// Why the catalog directory could not be loaded, when it could not.
    public var catalogError: String?

    /// Creates a packs answer.
    public init(known: [KnownPack], installed: [InstalledPack], catalogError: String? = nil) {
        self.known = known
        self.installed = installed
        self.catalogError = catalogError
    }

    enum CodingKeys: String, CodingKey {
        case known, installed
        case catalogError = "catalog_error"
    }
}

extension AgentEventKind {
    /// A pack job finished; metadata `pack`, `version`, `job_id`, `state` and, on failure, `failed_step`.
    public static let packFinished = "pack_finished"
}
