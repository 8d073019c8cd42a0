import Foundation
import Testing

extension EndToEndTests {
    /// The test packs of `Tests/PacksTests/Fixtures` (`test_apt_small`, `test_failing`).
    static var testPacksDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PacksTests/Fixtures").path
    }

    /// Step 6: a real apt pack installed from the host's pack cache (the guest has no route out); a
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
        // reverted guest, a connection whose next request it never acknowledges.
        #expect(
            !failing.stderr.contains("waiting for the agent of \(vm): thaw:"),
            "the thaw after the revert went unanswered: \(failing.stderr)")

        let marker = try somnus(["exec", vm, "--", "test", "-e", "/etc/somnus-test/failing-marker.txt"])
        #expect(marker.status == 1, "the file test_failing's first step wrote survived the rollback")
        let health = try somnus(["health", "--json"])
        #expect(health.stdout.contains("\"healthy\""))
        let stillThere = try somnus(["exec", vm, "--", "hello", "--greeting=somnus"])
        #expect(stillThere.stdout == "somnus\n", "the pack installed before the failing one was lost")
    }
}
