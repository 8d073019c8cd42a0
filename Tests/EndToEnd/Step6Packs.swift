import Foundation
import Testing

extension EndToEndTests {
    /// The test packs of `Tests/PacksTests/Fixtures` (`test_apt_small`, `test_failing`).
    static var testPacksDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PacksTests/Fixtures").path
    }

    /// Step 6: a real apt pack installed from the host's signed pack cache (the guest has no route out); a
    /// deliberately failing pack rolled back to its snapshot, the file its first step wrote gone, the agent
    /// healthy.
    func packsStep(vm: String) throws {
        let packs = EndToEndTests.testPacksDirectory
        let install = try step("6a. pack test_apt_small (hello) from the host cache, behind a snapshot") {
            try somnus(["pack", "install", vm, "test_apt_small", "--packs-dir", packs, "--json"])
        }
        #expect(install.status == 0, "pack install failed: \(install.stderr)")
        let summary = try? JSONSerialization.jsonObject(with: Data(install.stdout.utf8)) as? [String: Any]
        let results = summary?["results"] as? [[String: Any]]
        #expect(results?.first?["outcome"] as? String == "installed")
        #expect((results?.first?["snapshot"] as? String)?.hasPrefix("before-test_apt_small") == true)
        print("e2e: pack phases \(results?.first?["phases"] ?? "?"), fetch \(summary?["fetch_seconds"] ?? "?") s")
        let hello = try somnus(["exec", vm, "--", "hello", "--greeting=somnus"])
        #expect(hello.status == 0)
        #expect(hello.stdout == "somnus\n")
        // apt checked the cache's signature with the key the deploy installed; the pack's source is gone again.
        let key = try somnus(["exec", vm, "--", "stat", "-c", "%a %U", "/etc/somnus/pack-cache.gpg"])
        #expect(key.stdout == "644 root\n", "the pack-cache key in the guest: \(key.stdout) \(key.stderr)")
        let source = try somnus(["exec", vm, "--", "test", "-e", "/etc/apt/sources.list.d/somnus-pack-cache.list"])
        #expect(source.status == 1, "the pack's apt source was left behind")

        let failing = try step("6b. pack test_failing: step 2 fails → reverted to its snapshot") {
            try somnus(["pack", "install", vm, "test_failing", "--packs-dir", packs, "--json"])
        }
        #expect(failing.status == 1)
        let failed = try? JSONSerialization.jsonObject(with: Data(failing.stdout.utf8)) as? [String: Any]
        let failedResult = (failed?["results"] as? [[String: Any]])?.first
        #expect(failedResult?["outcome"] as? String == "rolled_back")
        #expect(failedResult?["failed_step"] as? Int == 1)
        #expect((failedResult?["failure_output"] as? String)?.contains("deliberate failure") == true)
        #expect(failing.stderr.contains("rolled back"))
        // The revert's thaw goes out on a new connection: one that carried requests after the snapshot is, for the
        // reverted guest, a connection whose next request it never acknowledges, and the thaw would wait out its whole
        // deadline. (A connect that fails while the guest's network resumes is retried and is fine.)
        #expect(
            !failing.stderr.contains("thaw: Operation timed out"),
            "the thaw after the revert went unanswered: \(failing.stderr)")

        let marker = try somnus(["exec", vm, "--", "test", "-e", "/etc/somnus-test/failing-marker.txt"])
        #expect(marker.status == 1, "the file test_failing's first step wrote survived the rollback")
        let health = try somnus(["health", "--json"])
        #expect(health.stdout.contains("\"healthy\""))
        let stillThere = try somnus(["exec", vm, "--", "hello", "--greeting=somnus"])
        #expect(stillThere.stdout == "somnus\n", "the pack installed before the failing one was lost")

        try vmDiesStep(vm: vm, packs: packs)
    }

    /// Step 6c: the VM is destroyed while a pack's step runs; the supervisor notices, reverts to the pack's
    /// snapshot (which starts the VM again), waits for the agent and reports the install as rolled back.
    func vmDiesStep(vm: String, packs: String) throws {
        let marker = "/etc/somnus-test/dies-marker.txt"
        let died = try step("6c. the VM dies mid-install → reverted to its snapshot, reported") {
            () throws -> CLIResult in
            let install = try RunningCLI(["pack", "install", vm, "test_vm_dies", "--packs-dir", packs, "--json"])
            // The first step has written the marker once the second (a long sleep) is under way.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(300)
            var underWay = false
            while clock.now < deadline && !underWay {
                underWay = try somnus(["exec", vm, "--", "test", "-e", marker]).status == 0
                if !underWay { Thread.sleep(forTimeInterval: 1) }
            }
            #expect(underWay, "test_vm_dies never reached its second step")
            let destroy = Process()
            destroy.executableURL = URL(fileURLWithPath: "/usr/bin/virsh")
            destroy.arguments = ["-c", "qemu:///system", "destroy", vm]
            try destroy.run()
            destroy.waitUntilExit()
            #expect(destroy.terminationStatus == 0, "virsh destroy \(vm) failed")
            return install.wait()
        }
        #expect(died.status == 1)
        let summary = try? JSONSerialization.jsonObject(with: Data(died.stdout.utf8)) as? [String: Any]
        let result = (summary?["results"] as? [[String: Any]])?.first
        #expect(result?["outcome"] as? String == "rolled_back", "pack install reported: \(died.stdout)")
        #expect((result?["error"] as? String)?.contains("stopped during the install") == true)
        let gone = try somnus(["exec", vm, "--", "test", "-e", marker])
        #expect(gone.status == 1, "the file test_vm_dies's first step wrote survived the rollback")
        let health = try somnus(["health", "--json"])
        #expect(health.stdout.contains("\"healthy\""))
    }
}
