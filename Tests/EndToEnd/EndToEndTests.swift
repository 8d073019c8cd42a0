import Foundation
import Testing

/// What `Tests/run` hands the suite: the CLI under test, the static agent for the guest and a state directory.
enum EndToEnd {
    static let environment = ProcessInfo.processInfo.environment
    static let cli = environment["SOMNUS_E2E_CLI"] ?? ""
    static let agent = environment["SOMNUS_E2E_AGENT"] ?? ""
    static let stateDirectory = environment["SOMNUS_E2E_STATE"] ?? "/var/lib/somnus-e2e"
    static let vm = "e2e"
    static var configured: Bool { !cli.isEmpty && !agent.isEmpty }
}

/// The outcome of one `somnus` invocation.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A `somnus` invocation running in the background; ``wait()`` collects its result.
final class RunningCLI {
    /// What the stderr reader thread collects: written by that thread alone, read only after it finished.
    private final class Collected: @unchecked Sendable {
        var data = Data()
    }

    private let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private let errors = Collected()
    private let reader: Thread

    /// Starts the real `somnus` binary as a user would, with the suite's state directory.
    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: EndToEnd.cli)
        // Global options go before `--`: everything after it is the guest command of `somnus exec`.
        var arguments = arguments
        arguments.insert(
            contentsOf: ["--state-dir", EndToEnd.stateDirectory],
            at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read stderr on its own thread while ``wait()`` reads stdout, so neither pipe fills up and blocks the child.
        let (handle, errors) = (err.fileHandleForReading, errors)
        reader = Thread { errors.data = handle.readDataToEndOfFile() }
        reader.start()
    }

    /// Waits for the process to exit and returns its status and output; stderr is echoed indented.
    func wait() -> CLIResult {
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        let result = CLIResult(
            status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errors.data, as: UTF8.self))
        if !result.stderr.isEmpty {
            print(result.stderr.split(separator: "\n").map { "    | " + $0 }.joined(separator: "\n"))
        }
        return result
    }
}

/// Runs the real `somnus` binary as a user would, with the suite's state directory, and waits for it.
func somnus(_ arguments: [String]) throws -> CLIResult {
    try RunningCLI(arguments).wait()
}

/// How often systemd has restarted the agent in the VM.
func restarts(_ vm: String) throws -> Int {
    let result = try somnus(["exec", vm, "--", "systemctl", "show", "-p", "NRestarts", "--value", "somnus-agent"])
    return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
}

/// Runs one named step and prints how long it took.
func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
    let clock = ContinuousClock()
    let start = clock.now
    print("e2e step: \(name) …")
    let result = try body()
    print("e2e step: \(name) took \(clock.now - start)")
    return result
}

@Suite(
    "End to end on a real VM", .serialized,
    .enabled(if: EndToEnd.configured, "run by Tests/run, which builds the static agent and sets SOMNUS_E2E_*"))
struct EndToEndTests {
    /// One VM is booted once and every step runs against it in the issue's order; each step lives in its own
    /// function (and, from step 3 on, its own file) so that it reads as the behaviour it checks.
    @Test(
        "boot, deploy over SSH, health through curl, exec, live profile, agent restart, delete",
        .timeLimit(.minutes(45)))
    func chain() throws {
        let vm = EndToEnd.vm
        // A VM left by an interrupted run is removed first; a missing one is fine.
        _ = try somnus(["down", vm])
        guard try bootStep(vm: vm) else { return }
        try execStep(vm: vm)
        try isolationStep(vm: vm)
        try errorsStep(vm: vm)
        try memoryStep(vm: vm)
        try snapshotStep(vm: vm)
        try suspendStep(vm: vm)
        try packsStep(vm: vm)
        try profileStep(vm: vm)
        try agentRestartStep(vm: vm)
        try softRebootStep(vm: vm)
        try hardeningStep(vm: vm)
        try poolStep(vm: vm)
        try deleteStep(vm: vm)
    }

    /// Step 1: `somnus up` boots the VM, deploys the agent over SSH and sees it healthy through curl.
    /// - Returns: Whether the VM came up, so the later steps have something to run against.
    func bootStep(vm: String) throws -> Bool {
        let up = try step("1. boot → SSH deploy → /v1/health/ready through curl") {
            try somnus(["up", vm, "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(up.status == 0, "somnus up failed: \(up.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
        #expect(summary?["health"] as? String == "healthy")
        #expect((summary?["address"] as? String)?.isEmpty == false)
        print("e2e: boot to agent ready \(summary?["boot_to_ready_seconds"] ?? "?") s")
        guard up.status == 0 else { return false }

        let health = try step("health sweep through the poller") { try somnus(["health", "--json"]) }
        #expect(health.status == 0)
        #expect(health.stdout.contains("\"healthy\""))

        let unit = try step("agent runs under systemd as a Type=notify unit") {
            try somnus(["exec", vm, "--", "systemctl", "show", "-p", "Type,ActiveState,NRestarts", "somnus-agent"])
        }
        #expect(unit.status == 0)
        #expect(unit.stdout.contains("Type=notify"))
        #expect(unit.stdout.contains("ActiveState=active"))

        // The image trims its boot (udev replays only virtio, block, net, input and ttyS0; unused mounts and
        // modules masked; sshd and the agent start without waiting for the network): nothing may fail for it.
        let boot = try step("1b. trimmed boot: no failed unit; console, network, sshd, logind's power button") {
            try somnus([
                "exec", vm, "--", "sh", "-c",
                "systemctl is-system-running --wait; systemctl --failed --plain --no-legend; "
                    + "systemctl is-active serial-getty@ttyS0 systemd-networkd ssh systemd-logind; "
                    + "journalctl -b -u systemd-logind --no-pager | grep -c 'Watching system buttons.*Power Button'",
            ])
        }
        #expect(boot.stdout == "running\nactive\nactive\nactive\nactive\n1\n", "\(boot.stdout)\(boot.stderr)")

        // The agent's memory where it runs: the guest's kernel, after the requests of the boot checks.
        let memory = try somnus([
            "exec", vm, "--", "sh", "-c",
            "grep -E '^(VmRSS|RssAnon|RssFile)' /proc/$(systemctl show -p MainPID --value somnus-agent)/status",
        ])
        #expect(memory.stdout.contains("VmRSS"), "\(memory.stdout)\(memory.stderr)")
        print("e2e: agent memory in the guest: \(memory.stdout.split(separator: "\n").joined(separator: ", "))")
        return true
    }

    /// Step 2: an exec job streams its output and propagates a non-zero exit code.
    func execStep(vm: String) throws {
        let exec = try step("2. exec job: streamed output, non-zero exit code propagated, a cgroup scope of its own") {
            try somnus(["exec", vm, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"])
        }
        #expect(exec.status == 3)
        #expect(exec.stdout == "to-stdout\n")
        #expect(exec.stderr.contains("to-stderr"))
        // A job runs in a scope of its own, outside the agent's cgroup and its MemoryHigh.
        let cgroup = try somnus(["exec", vm, "--", "cat", "/proc/self/cgroup"])
        #expect(cgroup.stdout.contains("/somnus-jobs.slice/somnus-exec-"), "job cgroup: \(cgroup.stdout)")
        // The host may run a command as another guest user; an unknown one is refused naming it.
        let nobody = try somnus(["exec", vm, "--user", "nobody", "--", "id", "-u"])
        #expect(nobody.stdout == "65534\n", "exec --user nobody: \(nobody.stdout) \(nobody.stderr)")
        let unknown = try somnus(["exec", vm, "--user", "no-such-user", "--", "true"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no-such-user"), "exec --user: \(unknown.stderr)")
    }

    /// Step 8: a live profile change idle → coding, confirmed through `/v1/stats` and seen by `nproc`.
    func profileStep(vm: String) throws {
        let scaled = try step("8. live profile change idle → coding, confirmed through /v1/stats") {
            try somnus(["vm", "profile", vm, "coding", "--json"])
        }
        #expect(scaled.status == 0, "profile change failed: \(scaled.stderr)")
        #expect(scaled.stderr.contains("confirmed by the agent: 4 vCPUs"))
        let nproc = try somnus(["exec", vm, "--", "nproc"])
        #expect(nproc.stdout == "4\n")
    }

    /// Step 7: `kill -9` the agent; systemd restarts it and the poller sees it healthy again.
    func agentRestartStep(vm: String) throws {
        try step("7. kill -9 the agent → systemd restarts it → the poller sees it healthy again") {
            let restartsBefore = try restarts(vm)
            let kill = try somnus([
                "exec", vm, "--", "sh", "-c",
                "(sleep 1; systemctl kill --kill-who=main -s KILL somnus-agent) >/dev/null 2>&1 &",
            ])
            #expect(kill.status == 0)
            var seen: [String] = []
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(120)
            while clock.now < deadline {
                let health = try somnus(["health", "--json"])
                let state = ["unreachable", "degraded", "healthy", "starting"].first {
                    health.stdout.contains("\"\($0)\"")
                }
                if let state, seen.last != state { seen.append(state) }
                if seen.contains("unreachable") && seen.last == "healthy" { break }
                if seen.last == "healthy", try restarts(vm) > restartsBefore { break }
                Thread.sleep(forTimeInterval: 0.2)
            }
            print("e2e: health states seen after the kill: \(seen)")
            #expect(try restarts(vm) > restartsBefore)
            #expect(seen.last == "healthy")
        }
    }

    /// `somnus soft-reboot`: a unit restarted through systemd by the agent comes back active with a new main pid.
    func softRebootStep(vm: String) throws {
        let mainPID = { () throws -> String in
            try somnus(["exec", vm, "--", "systemctl", "show", "-p", "MainPID", "--value", "ssh.service"]).stdout
        }
        let before = try mainPID()
        let reboot = try step("soft-reboot ssh.service through the agent") {
            try somnus(["soft-reboot", vm, "ssh.service", "--json"])
        }
        #expect(reboot.status == 0, "soft-reboot failed: \(reboot.stderr)")
        let answer = try? JSONSerialization.jsonObject(with: Data(reboot.stdout.utf8)) as? [String: Any]
        let unit = (answer?["units"] as? [[String: Any]])?.first
        #expect(unit?["name"] as? String == "ssh.service")
        #expect(unit?["active"] as? Bool == true, "soft-reboot answered: \(reboot.stdout)")
        let after = try mainPID()
        #expect(!after.isEmpty && after != before, "ssh.service kept main pid \(before) through the restart")
    }

    /// Step 9: `somnus down` leaves no domain, disk or inventory row.
    func deleteStep(vm: String) throws {
        let down = try step("9. delete leaves no domain, disk or inventory row") { try somnus(["down", vm]) }
        #expect(down.status == 0)
        let list = try somnus(["vm", "list", "--json"])
        #expect(!list.stdout.contains("\"\(vm)\""))
        #expect(!FileManager.default.fileExists(atPath: EndToEnd.stateDirectory + "/vms/" + vm))
        let show = try somnus(["vm", "show", vm])
        #expect(show.status == 2)
        #expect(show.stderr.contains("'\(vm)'"))
    }
}
