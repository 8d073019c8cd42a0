package import AgentBasics
import FoundationEssentials
package import Subprocess
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(System)
    package import System
#else
    import SystemPackage
#endif

/// A child process of the agent, run through swift-subprocess in a process group of its own: a command of an exec or
/// pack job, or a short command such as `systemctl` (``output(of:timeout:)``). Its output streams out as it comes,
/// and the whole group is stopped (SIGTERM, then SIGKILL after a grace period) when the job is cancelled or its
/// deadline passes.
package struct JobProcess: Sendable {
    /// The program (a path) and its arguments, after the scope and user wrappers.
    package let argv: [String]
    /// The child's whole environment, or `nil` for the agent's own.
    package let environment: [String: String]?
    /// The directory the child starts in, or `nil` for the agent's (or when a shell changes to it as the user).
    package let directory: String?

    /// `env`, which starts a command with exactly the environment it is given.
    package static let envProgram: String? = resolve("env", path: "/usr/bin:/bin")

    /// The slice that holds the scopes of exec and pack jobs.
    package static let jobSlice = "somnus-jobs.slice"

    /// `systemd-run` when the agent runs as a systemd service (`INVOCATION_ID` is set and systemd is the init
    /// system), else `nil`: then jobs stay in the agent's cgroup, as in tests.
    ///
    /// Jobs must not run in the agent's own cgroup: its `MemoryHigh` would throttle them (an apt install's page
    /// cache alone exceeds it), and the agent would be throttled with them.
    package static let jobScopeLauncher: String? = {
        guard ProcessInfo.processInfo.environment["INVOCATION_ID"] != nil, access("/run/systemd/system", F_OK) == 0
        else { return nil }
        return resolve("systemd-run", path: "/usr/bin:/bin")
    }()

    /// The executable `program` names: itself when it contains a slash, else the first match in `path`.
    package static func resolve(_ program: String, path: String?) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private static let scopeSequence = Atomic<Int>(0)

    /// A new scope unit name for one command of a job, such as `somnus-pack-1f2e3d4c-7.scope`.
    /// - Parameters:
    ///   - kind: `exec` or `pack`.
    ///   - id: The job's id.
    package static func jobScope(_ kind: String, id: String) -> String {
        let sequence = scopeSequence.wrappingAdd(1, ordering: .relaxed).newValue
        return "somnus-\(kind)-\(id.prefix(8))-\(sequence).scope"
    }

    /// How a supervised command ended.
    package struct Outcome: Sendable {
        /// How the process ended, `nil` when it could not be started.
        package var termination: TerminationStatus?
        /// Why it could not be started.
        package var startError: String?
        /// Whether it was stopped because ``supervise(timeout:killGrace:shouldStop:onOutput:)``'s `shouldStop` said
        /// so.
        package var stopped = false
        /// Whether it was stopped at its deadline.
        package var timedOut = false
    }

    /// Checks what would make `argv` fail to start and wraps it in the scope and user switch it runs under.
    /// - Parameters:
    ///   - argv: The program and its arguments; the program is looked up in `environment`'s `PATH`.
    ///   - environment: The whole environment of the child, or `nil` for the agent's own.
    ///   - directory: The child's working directory, or `nil` for the agent's.
    ///   - scope: A transient systemd scope unit to run the child in (see ``jobScope(_:id:)``), or
    ///     `nil` for the agent's own cgroup.
    ///   - identity: The user to run as, or `nil` for the agent's own.
    /// - Throws: ``AgentError`` `bad_request` for an empty program, `command_failed` with the program's name when
    ///   it or the directory does not exist.
    package init(
        _ argv: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        scope: String? = nil,
        identity: ExecIdentity? = nil
    ) throws(AgentError) {
        guard let program = argv.first, !program.isEmpty else {
            throw AgentError(.badRequest, "argv: must name a program")
        }
        let path = (environment ?? ProcessInfo.processInfo.environment)["PATH"]
        if let directory {
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory else {
                throw AgentError(
                    .commandFailed, "cannot start '\(program)': working directory '\(directory)' does not exist")
            }
        }
        guard let executable = Self.resolve(program, path: path) else {
            throw AgentError(.commandFailed, "cannot start '\(program)': \(String(cString: strerror(ENOENT)))")
        }
        var argv = [executable] + argv.dropFirst()
        var environment = environment
        var directory = directory
        if let identity {
            // swift-subprocess can switch user itself (`PlatformOptions.userID`), but then `systemd-run` would run
            // as that user and could not create the scope: the switch happens inside the scope, through setpriv.
            // The wrappers that run as root get the agent's own environment: a caller's LD_PRELOAD must never reach
            // a root process. `env -i` hands the caller's environment to the command only after setpriv has
            // switched user.
            guard let env = Self.envProgram, !program.contains("=") else {
                throw AgentError(.commandFailed, "cannot start '\(program)' as uid \(identity.uid): no usable env(1)")
            }
            if let target = directory {
                // The user changes directory, so a directory only root may enter stays closed to the job.
                argv = ["/bin/sh", "-c", "cd -- \"$0\" && exec \"$@\"", target] + argv
                directory = nil
            }
            let variables = (environment ?? ProcessInfo.processInfo.environment).sorted { $0.key < $1.key }.map {
                "\($0.key)=\($0.value)"
            }
            argv = try identity.setprivPrefix() + [env, "-i", "--"] + variables + argv
            environment = nil
        }
        if let scope, let systemdRun = Self.jobScopeLauncher {
            // systemd-run --scope moves itself into the new scope, then execs the command: same pid, same pipes.
            argv =
                [
                    systemdRun, "--scope", "--quiet", "--collect", "--slice=\(Self.jobSlice)", "--unit=\(scope)",
                    "--",
                ] + argv
        }
        self.argv = argv
        self.environment = environment
        self.directory = directory
    }

    /// Runs the command until it ends, stopping its process group at `timeout` or when `shouldStop` turns true,
    /// and hands each chunk of its standard output and standard error to `onOutput` as it arrives. Reading stops
    /// 200 ms after the process ended, so a daemon it left holding the pipes open does not keep it running. When the
    /// calling task is cancelled, the group gets SIGKILL at once.
    /// - Parameters:
    ///   - timeout: The deadline, or `nil` for none.
    ///   - killGrace: Time between SIGTERM and SIGKILL to the process group; `.zero` sends SIGKILL alone.
    ///   - shouldStop: Polled about every 20 ms.
    ///   - onOutput: Called with each chunk and whether it came from standard error.
    /// - Returns: How it ended; whatever its group left behind is killed when it was stopped.
    package func supervise(
        timeout: Duration?,
        killGrace: Duration,
        shouldStop: @escaping @Sendable () -> Bool,
        onOutput: @escaping @Sendable ([UInt8], Bool) -> Void
    ) async -> Outcome {
        var options = PlatformOptions()
        options.processGroupID = 0
        // Raw entries keep every variable a caller may set (``Environment/Key`` is a `String` map); swift-subprocess
        // 1.0.2 hands each to `strdup`, so each carries its own terminating NUL.
        let environment: Environment =
            self.environment.map { variables in
                .custom(variables.sorted { $0.key < $1.key }.map { Array("\($0.key)=\($0.value)".utf8) + [0] })
            } ?? .inherit
        let program = argv[0]
        var outcome = Outcome()
        // ETXTBSY: a program written a moment ago may still be open for writing in a child another thread forked
        // before it could close it; that descriptor goes away when the child execs. Try again a few times.
        for attempt in 0..<5 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(20)) }
            let progress = Progress()
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(program)), arguments: Arguments(Array(argv.dropFirst())),
                    environment: environment, workingDirectory: directory.map { FilePath($0) },
                    platformOptions: options, input: .none, output: .sequence, error: .sequence
                ) { execution in
                    progress.started.store(true, ordering: .relaxed)
                    return await withTaskGroup(of: Stop?.self) { group in
                        group.addTask {
                            try? await Self.read(execution.standardOutput, isError: false, onOutput)
                            progress.readersDone.add(1, ordering: .relaxed)
                            return nil
                        }
                        group.addTask {
                            try? await Self.read(execution.standardError, isError: true, onOutput)
                            progress.readersDone.add(1, ordering: .relaxed)
                            return nil
                        }
                        group.addTask {
                            await Self.watch(
                                execution.processIdentifier, timeout: timeout, killGrace: killGrace,
                                shouldStop: shouldStop, progress: progress)
                        }
                        var stop: Stop?
                        for await result in group {
                            guard let result else { continue }
                            stop = result
                            // The process ended: readers still waiting on a pipe a daemon holds open stop too.
                            group.cancelAll()
                        }
                        return (stop ?? .ended, execution.processIdentifier.value)
                    }
                }
                let (stop, pid) = result.closureResult
                outcome.termination = result.terminationStatus
                outcome.stopped = stop == .stopped
                outcome.timedOut = stop == .timedOut
                if stop != .ended {
                    // Whatever the group left behind goes too.
                    kill(-pid, SIGKILL)
                }
                return outcome
            } catch let error as SubprocessError where !progress.started.load(ordering: .relaxed) {
                if error.underlyingError?.rawValue == ETXTBSY && attempt < 4 { continue }
                let reason = error.underlyingError.map { String(cString: strerror($0.rawValue)) } ?? "\(error)"
                outcome.startError = "cannot start '\(program)': \(reason)"
                return outcome
            } catch {
                outcome.startError = "cannot start '\(program)': \(error)"
                return outcome
            }
        }
        return outcome
    }

    /// What the tasks of one run share: whether the process started, how many of its pipes were read to the end.
    private final class Progress: Sendable {
        let started = Atomic<Bool>(false)
        let readersDone = Atomic<Int>(0)
    }

    /// Why supervision ended.
    private enum Stop: Sendable {
        case ended, stopped, timedOut
    }

    private static func read(
        _ sequence: SubprocessOutputSequence, isError: Bool, _ onOutput: @Sendable ([UInt8], Bool) -> Void
    ) async throws {
        for try await buffer in sequence {
            let bytes = buffer.withUnsafeBytes { Array($0) }
            if !bytes.isEmpty { onOutput(bytes, isError) }
        }
    }

    /// Every 20 ms: sends SIGTERM to the group when asked to stop or at the deadline, SIGKILL after the grace
    /// period (at once without one, or when the task is cancelled); returns once the process ended and both readers
    /// finished, or 200 ms after it ended.
    private static func watch(
        _ process: ProcessIdentifier, timeout: Duration?, killGrace: Duration, shouldStop: @Sendable () -> Bool,
        progress: Progress
    ) async -> Stop {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        var stop = Stop.ended
        var exitSeen: ContinuousClock.Instant?
        var termSent: ContinuousClock.Instant?
        var killSent = false
        while true {
            let now = clock.now
            if exitSeen == nil && hasExited(process) { exitSeen = now }
            if let exitSeen {
                if progress.readersDone.load(ordering: .relaxed) == 2 || now - exitSeen >= .milliseconds(200) {
                    return stop
                }
            } else if Task.isCancelled {
                kill(-process.value, SIGKILL)
                return .stopped
            } else if termSent == nil {
                if shouldStop() {
                    stop = .stopped
                } else if let deadline, now >= deadline {
                    stop = .timedOut
                }
                if stop != .ended {
                    killSent = killGrace == .zero
                    kill(-process.value, killSent ? SIGKILL : SIGTERM)
                    termSent = now
                }
            } else if let termSent, !killSent, now - termSent >= killGrace {
                kill(-process.value, SIGKILL)
                killSent = true
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Whether the process has ended (it may not be reaped yet): its pidfd is readable, or, without one,
    /// `waitid` with `WNOWAIT` sees it ended without reaping it.
    private static func hasExited(_ process: ProcessIdentifier) -> Bool {
        if process.processDescriptor >= 0 {
            var descriptor = pollfd(fd: process.processDescriptor, events: Int16(POLLIN), revents: 0)
            return poll(&descriptor, 1, 0) == 1
        }
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(process.value), &info, WEXITED | WNOHANG | WNOWAIT)
        return (result == 0 && info._sifields._sigchld.si_pid == process.value) || (result < 0 && errno == ECHILD)
    }
}
