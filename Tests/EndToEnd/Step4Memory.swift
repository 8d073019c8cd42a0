import Foundation
import Testing

extension EndToEndTests {
    /// Step 4: memories written through `somnus-agent memory` in the guest survive an agent restart and a VM
    /// reboot, and the secret word is nowhere in the database files.
    func memoryStep(vm: String) throws {
        let secret = "zanzibar\(UInt32.random(in: 100_000...999_999))"
        let memory = ["exec", vm, "--", "somnus-agent", "memory"]
        try step("4a. memory add (incl. a secret word) and search through the agent's socket") {
            let facts = [
                "The deploy key for staging is \(secret)", "The user prefers four-space indentation",
                "Backups run nightly at 02:00 UTC",
            ]
            for fact in facts {
                let added = try somnus(memory + ["add", "--namespace", "e2e", "--importance", "high", fact])
                #expect(added.status == 0, "\(added.stderr)")
                #expect(added.stdout.hasPrefix("created "))
            }
            try expectRecall(vm: vm, secret: secret)
            // The image bakes the transformer model in (provisioning/fetch-memory-model.sh) unless its download failed,
            // which the image build only warns about: the agent must use the model when it is there.
            let baked = try somnus(["exec", vm, "--", "test", "-f", "/var/lib/somnus/memory-model/encoder.safetensors"])
            let stats = try somnus(memory + ["stats", "--json"])
            let statsObject = try? JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
            let embedder = statsObject?["embedder"] as? String
            // The static agent has no full Foundation: the database's size must still be read.
            #expect((statsObject?["database_bytes"] as? Int ?? 0) > 0, "memory stats: \(stats.stdout)")
            let expected = baked.status == 0 ? "minilm:" : "hashed"
            #expect(embedder?.hasPrefix(expected) == true, "memory stats: \(stats.stdout) \(stats.stderr)")
            if baked.status == 0 {
                // The transformer finds a memory asked for in other words (no word in common but "at").
                let paraphrase = try somnus(
                    memory + [
                        "search", "--namespace", "e2e", "--json", "--limit", "1",
                        "at what hour is data copied for safekeeping",
                    ])
                #expect(paraphrase.stdout.contains("Backups run nightly"), "\(paraphrase.stdout) \(paraphrase.stderr)")
                try memoryTimingsInGuest(vm: vm)
            } else {
                print("e2e: no memory model in the image (its download failed); hashed embedder")
            }
        }
        try step("4b. restart the agent → memories still there") {
            let pidBefore = try agentPID(vm: vm)
            // Restart from a detached process a moment after the job has answered, so the job's answer is not cut
            // off by the restart.
            let restart = try somnus([
                "exec", vm, "--", "sh", "-c",
                "(sleep 2; systemctl restart somnus-agent) >/dev/null 2>&1 &",
            ])
            #expect(restart.status == 0)
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(300)
            var pidAfter = pidBefore
            while clock.now < deadline && (pidAfter == pidBefore || pidAfter.isEmpty) {
                Thread.sleep(forTimeInterval: 1)
                pidAfter = try agentPID(vm: vm)
            }
            #expect(!pidAfter.isEmpty && pidAfter != pidBefore, "agent pid before \(pidBefore), after \(pidAfter)")
            try waitForMemory(vm: vm)
            try expectRecall(vm: vm, secret: secret)
        }
        try step("4c. reboot the VM → agent healthy again → memories still there") {
            let bootBefore = try bootID(vm: vm)
            let stop = try somnus(["vm", "stop", vm, "--timeout", "180"])
            #expect(stop.status == 0, "\(stop.stderr)")
            let start = try somnus(["vm", "start", vm])
            #expect(start.status == 0, "\(start.stderr)")
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(600)
            var bootAfter = ""
            while clock.now < deadline {
                bootAfter = try bootID(vm: vm)
                if !bootAfter.isEmpty && bootAfter != bootBefore { break }
                Thread.sleep(forTimeInterval: 2)
            }
            #expect(!bootAfter.isEmpty && bootAfter != bootBefore, "boot id before \(bootBefore), after \(bootAfter)")
            try waitForMemory(vm: vm)
            try expectRecall(vm: vm, secret: secret)
        }
        try step("4d. the secret word is not in memory.sqlite, its WAL or its SHM") {
            let grep = try somnus([
                "exec", vm, "--", "sh", "-c", "grep -c \(secret) /var/lib/somnus/memory.sqlite* ; ls /var/lib/somnus",
            ])
            let counts = grep.stdout.split(separator: "\n").filter { $0.hasPrefix("/var/lib/somnus/memory.sqlite") }
            #expect(!counts.isEmpty, "\(grep.stdout)")
            #expect(counts.allSatisfy { $0.hasSuffix(":0") }, "\(grep.stdout)")
            #expect(grep.stdout.contains("memory.sqlite"))
            let status = try somnus(["agent", "status", vm, "--json"])
            #expect(status.stdout.contains("\"memory\""))
        }
    }

    /// The secret fact is the best hit for a question about it, and `get` shows it.
    private func expectRecall(vm: String, secret: String) throws {
        let search = try somnus([
            "exec", vm, "--", "somnus-agent", "memory", "search", "--namespace", "e2e", "--json", "deploy key staging",
        ])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains(secret))
        let stats = try somnus(["exec", vm, "--", "somnus-agent", "memory", "stats", "--namespace", "e2e"])
        #expect(stats.stdout.contains("total:        3"), "\(stats.stdout)")
    }

    /// Polls `somnus-agent memory stats` in the guest until the agent answers (10 minutes at most).
    private func waitForMemory(vm: String) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(600)
        while clock.now < deadline {
            let stats = try somnus(["exec", vm, "--", "somnus-agent", "memory", "stats", "--namespace", "e2e"])
            if stats.status == 0 { return }
            Thread.sleep(forTimeInterval: 2)
        }
        Issue.record("the agent's memory did not answer within 10 minutes")
    }

    /// The agent's main pid in the guest, or "" while the agent does not answer.
    private func agentPID(vm: String) throws -> String {
        let show = try somnus(["exec", vm, "--", "systemctl", "show", "-p", "MainPID", "--value", "somnus-agent"])
        return show.status == 0 ? show.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    /// The guest's boot id through `somnus agent status`, or "" while the agent does not answer.
    private func bootID(vm: String) throws -> String {
        let status = try somnus(["agent", "status", vm, "--json"])
        guard status.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        else { return "" }
        return object["boot_id"] as? String ?? ""
    }

    /// Prints what a search (a new query: its embedding, then the search) and an add of a long memory (its embedding)
    /// cost inside the TCG guest, through the agent's socket, against a liveness request through the same client.
    func memoryTimingsInGuest(vm: String, count: Int = 5) throws {
        let long =
            "Deployment number N: the service is built in the pipeline, its image is pushed to the registry, the "
            + "staging cluster pulls it, smoke tests run against the health endpoint, and after a manual approval "
            + "the production rollout proceeds region by region with automatic rollback on failed checks."
        let script = """
            t0=$(date +%s%N); for i in $(seq \(count)); do somnus-agent request GET /v1/health/live >/dev/null; done
            t1=$(date +%s%N); for i in $(seq \(count)); do somnus-agent request POST /v1/memories/search --data \
            "{\\"namespace\\":\\"e2e-timing\\",\\"query\\":\\"when are the copies of my files made, take $i\\"}" >/dev/null; done
            t2=$(date +%s%N); for i in $(seq \(count)); do somnus-agent request POST /v1/memories --data \
            "{\\"namespace\\":\\"e2e-timing\\",\\"content\\":\\"\(long) Take $i.\\"}" >/dev/null; done
            t3=$(date +%s%N); echo $t0 $t1 $t2 $t3
            """
        let timed = try somnus(["exec", vm, "--", "sh", "-c", script])
        let marks = timed.stdout.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        guard timed.status == 0, marks.count == 4 else {
            Issue.record("timing the memory in the guest failed: \(timed.stdout) \(timed.stderr)")
            return
        }
        let each = (1..<4).map { (marks[$0] - marks[$0 - 1]) / Double(count) / 1e6 }
        print(
            String(
                format: "e2e: in the TCG guest, per request through the socket: liveness %.0f ms, search %.0f ms "
                    + "(+%.0f), add of a 64-token memory %.0f ms (+%.0f)",
                each[0], each[1], each[1] - each[0], each[2], each[2] - each[0]))
    }
}
