import Foundation
import Testing

extension EndToEndTests {
    /// Step 11: inside the guest the agent's files are private and its socket is root:somnus 0660; `nobody`,
    /// added to group somnus, runs commands as itself and may not freeze; 2,000 idle connections neither stop
    /// liveness nor starve the watchdog; and an agent killed while the filesystems are frozen leaves the guest
    /// writable again within seconds (the unit's `ExecStopPost` thaw and the start-up thaw).
    func hardeningStep(vm: String) throws {
        try step("11a. data directory 0700, SQLite files and key 0600, socket root:somnus 0660") {
            let modes = try somnus([
                "exec", vm, "--", "sh", "-c",
                "stat -c '%a %U:%G %n' /var/lib/somnus /run/somnus/agent.sock "
                    + "$(find /var/lib/somnus -maxdepth 1 -type f \\( -name '*.sqlite*' -o -name '*.key' \\))",
            ])
            #expect(modes.status == 0, "stat failed: \(modes.stderr)")
            print("e2e: guest file modes:\n\(modes.stdout)")
            let lines = modes.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("700 root:root /var/lib/somnus"), "\(lines)")
            #expect(lines.contains("660 root:somnus /run/somnus/agent.sock"), "\(lines)")
            let files = lines.filter { $0.hasSuffix(".key") || $0.contains(".sqlite") }
            #expect(files.contains { $0.hasSuffix("/memory.sqlite") }, "\(lines)")
            for line in files { #expect(line.hasPrefix("600 root:root "), "\(line)") }
        }

        try step("11b. nobody in group somnus: exec runs as nobody, freeze is 403 forbidden") {
            let added = try somnus(["exec", vm, "--", "gpasswd", "-a", "nobody", "somnus"])
            #expect(added.status == 0, "gpasswd -a failed: \(added.stderr)")
            defer { _ = try? somnus(["exec", vm, "--", "gpasswd", "-d", "nobody", "somnus"]) }
            let uid = try somnus(["exec", vm, "--", "id", "-u", "nobody"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)

            let started = try nobodyRequest(vm: vm, method: "POST", path: "/v1/exec", body: #"{"argv":["id","-u"]}"#)
            #expect(started.status == 202, "exec as nobody: \(started)")
            let id =
                (try? JSONSerialization.jsonObject(with: Data(started.body.utf8)) as? [String: Any])?["id"]
                as? String
            let jobID = try #require(id, "no job id in \(started.body)")
            var stdout: String?
            for _ in 0..<50 {
                let job = try nobodyRequest(vm: vm, method: "GET", path: "/v1/exec/\(jobID)", body: nil)
                let object = try? JSONSerialization.jsonObject(with: Data(job.body.utf8)) as? [String: Any]
                if let state = object?["state"] as? String, state != "running" {
                    stdout = object?["stdout"] as? String
                    break
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
            #expect(stdout == "\(uid)\n", "exec as nobody printed \(stdout ?? "nothing"), nobody is \(uid)")

            let freeze = try nobodyRequest(vm: vm, method: "POST", path: "/v1/fs/freeze", body: #"{"timeout_s":5}"#)
            #expect(freeze.status == 403, "freeze as nobody: \(freeze)")
            #expect(freeze.body.contains(#""code":"forbidden""#), "freeze as nobody: \(freeze.body)")
        }

        try step("11c. 2,000 idle connections inside the guest: liveness within 1 s, no watchdog restart") {
            let restartsBefore = try restarts(vm)
            // The image is debootstrap minbase: perl-base (Essential) holds the idle sockets, and the agent's own
            // `request` subcommand is the in-guest client.
            let script =
                "use IO::Socket::UNIX; use IO::Socket::INET; my @held; for my $i (1..1000) { "
                + "push @held, IO::Socket::UNIX->new(Peer => \"/run/somnus/agent.sock\") or die \"unix $i: $!\"; "
                + "push @held, IO::Socket::INET->new(PeerAddr => \"127.0.0.1:9901\") or die \"tcp $i: $!\"; } "
                + "open(my $pid, \">\", \"/run/somnus-idle.pid\"); print $pid $$; close $pid; sleep 300;"
            let started = try somnus([
                "exec", vm, "--", "sh", "-c",
                "ulimit -n 8192; nohup perl -e '\(script)' >/run/somnus-idle.log 2>&1 & "
                    + "for i in $(seq 150); do test -s /run/somnus-idle.pid && exit 0; sleep 0.2; done; "
                    + "cat /run/somnus-idle.log; exit 1",
            ])
            #expect(started.status == 0, "the idle connections did not open: \(started.stdout) \(started.stderr)")
            defer {
                _ = try? somnus([
                    "exec", vm, "--", "sh", "-c", "kill $(cat /run/somnus-idle.pid); rm -f /run/somnus-idle.*",
                ])
            }
            // Three requests, each timed with its client's start (a 26 MB static binary under TCG, which a busy host
            // slows down): the agent answers within a second if the fastest of them does.
            let live = try somnus([
                "exec", vm, "--", "sh", "-c",
                "for i in 1 2 3; do start=$(date +%s%N); \(agentRequest) GET /v1/health/live >/dev/null; status=$?; "
                    + "end=$(date +%s%N); echo \"$status $(( (end - start) / 1000000 ))\"; done",
            ])
            let attempts = live.stdout.split(separator: "\n").map { $0.split(separator: " ") }
            print("e2e: /v1/health/live with 2,000 idle connections open: exit status and ms \(attempts)")
            #expect(
                attempts.count == 3 && attempts.allSatisfy { $0.first == "0" },
                "liveness: \(live.stdout) \(live.stderr)")
            let fastest = attempts.compactMap { $0.last.flatMap { Int($0) } }.min() ?? 99_999
            #expect(fastest < 1000, "liveness took \(live.stdout) ms")
            // Longer than WatchdogSec=30: a starved watchdog would have restarted the agent by now.
            Thread.sleep(forTimeInterval: 35)
            #expect(try restarts(vm) == restartsBefore, "the agent was restarted while holding idle connections")
            let health = try somnus(["agent", "status", vm, "--json"])
            #expect(health.status == 0, "agent status with idle connections: \(health.stderr)")
        }

        try step("11d. kill -9 the agent mid-freeze → the guest is writable again within seconds") {
            let restartsBefore = try restarts(vm)
            // The kill comes from a transient timer, independent of the exec job that freezes.
            let timer = try somnus([
                "exec", vm, "--", "systemd-run", "--on-active=3", "--", "systemctl", "kill", "-s", "KILL",
                "--kill-who=main", "somnus-agent",
            ])
            #expect(timer.status == 0, "systemd-run failed: \(timer.stderr)")
            let freeze = try somnus([
                "exec", vm, "--", "sh", "-c", "\(agentRequest) POST /v1/fs/freeze --data '{\"timeout_s\":60}'",
            ])
            #expect(freeze.status == 0, "freeze failed: \(freeze.stderr)")
            #expect(freeze.stdout.contains(#""frozen""#), "freeze answer: \(freeze.stdout)")
            let clock = ContinuousClock()
            let frozenAt = clock.now
            var writable = false
            while clock.now - frozenAt < .seconds(90) {
                if let touch = try? somnus(["exec", vm, "--", "timeout", "10", "touch", "/root/thawed"]),
                    touch.status == 0
                {
                    writable = true
                    break
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
            print("e2e: guest writable again \(clock.now - frozenAt) after the freeze (kill at ~3 s, freeze 60 s)")
            #expect(writable, "the guest stayed frozen after the agent was killed")
            #expect(clock.now - frozenAt < .seconds(45), "writable only after the freeze's own deadline")
            #expect(try restarts(vm) > restartsBefore, "the agent was not restarted")
            let journal = try somnus([
                "exec", vm, "--", "journalctl", "-u", "somnus-agent", "-n", "50", "--no-pager", "-o", "cat",
            ])
            print("e2e: agent journal after the kill:\n\(journal.stdout.suffix(2000))")
        }
    }

    /// `somnus-agent request` against the agent's unix socket inside the guest.
    private var agentRequest: String { "/usr/local/bin/somnus-agent request --socket /run/somnus/agent.sock" }

    /// Runs `somnus-agent request` as `nobody` (with its groups) inside the guest.
    private func nobodyRequest(vm: String, method: String, path: String, body: String?) throws -> (
        status: Int, body: String
    ) {
        var command = [
            "exec", vm, "--", "runuser", "-u", "nobody", "--", "/usr/local/bin/somnus-agent", "request", "--socket",
            "/run/somnus/agent.sock", method, path,
        ]
        if let body { command += ["--data", body] }
        let text = try somnus(command).stdout
        guard let newline = text.firstIndex(of: "\n") else { return (0, text) }
        return (Int(text[..<newline]) ?? 0, String(text[text.index(after: newline)...]))
    }
}
