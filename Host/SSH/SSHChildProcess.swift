import Glibc

/// Runs helper programs (`ssh-keygen`) with `posix_spawn` and `waitpid`.
///
/// Foundation's `Process` on Linux was seen to hang in `waitUntilExit` when several children are
/// started from different threads, so this module spawns and reaps its children itself. Public for the tests'
/// loopback `sshd`, which needs the same care.
public enum SSHChildProcess {
    /// How a finished child ended.
    struct Outcome: Equatable {
        /// The exit status, or `nil` if the child was killed by a signal.
        var exitStatus: Int32?
        /// What the child wrote to standard error.
        var standardError: String
    }

    /// Starts `path` with `arguments`; standard input and output are `/dev/null`; standard error
    /// goes to `standardErrorDescriptor` if given, otherwise to `/dev/null`.
    /// - Returns: The child's process id; the caller must reap it with `waitpid`.
    /// - Throws: ``SSHError`` naming the program when it cannot be started.
    public static func spawn(
        _ path: String, _ arguments: [String], standardErrorDescriptor: Int32? = nil,
        mergeStandardOutput: Bool = false
    ) throws(SSHError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let standardErrorDescriptor, mergeStandardOutput {
            posix_spawn_file_actions_adddup2(&actions, standardErrorDescriptor, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if let standardErrorDescriptor {
            posix_spawn_file_actions_adddup2(&actions, standardErrorDescriptor, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptySet = sigset_t()
        sigemptyset(&emptySet)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptySet)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw SSHError(
                kind: .keyGeneration, message: "cannot start \(path): \(String(cString: strerror(result)))",
                function: "posix_spawn")
        }
        return pid
    }

    /// Runs a program to completion and collects its standard error (and standard output too when
    /// `mergeStandardOutput` is set).
    static func run(_ path: String, _ arguments: [String], mergeStandardOutput: Bool = false) throws(SSHError)
        -> Outcome
    {
        var pipeEnds: [Int32] = [0, 0]
        // A socket pair rather than a pipe: it can be created close-on-exec atomically (pipe2 does not import).
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &pipeEnds) == 0 else {
            throw SSHError(
                kind: .keyGeneration, message: "cannot create a pipe: \(String(cString: strerror(errno)))",
                function: "socketpair")
        }
        let pid: pid_t
        do throws(SSHError) {
            pid = try spawn(
                path, arguments, standardErrorDescriptor: pipeEnds[1], mergeStandardOutput: mergeStandardOutput)
        } catch {
            close(pipeEnds[0])
            close(pipeEnds[1])
            throw error
        }
        close(pipeEnds[1])
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count > 0 {
                collected.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        close(pipeEnds[0])
        let status = waitForExit(pid)
        return Outcome(exitStatus: status, standardError: String(decoding: collected, as: UTF8.self))
    }

    /// Reaps a child and returns its exit status, or `nil` if a signal ended it.
    public static func waitForExit(_ pid: Int32) -> Int32? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return nil }
        }
        // WIFEXITED / WEXITSTATUS are macros that do not import.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : nil
    }
}
