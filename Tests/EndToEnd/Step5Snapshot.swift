import Foundation
import Testing

extension EndToEndTests {
    /// Step 5: a quiesced snapshot, a file written, the guest clock set a few minutes off and the agent redeployed
    /// after it, a revert: the file is gone, the agent (the snapshot's) accepts the host and is healthy, and the
    /// revert pushed the host's time into the guest.
    func snapshotStep(vm: String) throws {
        let snapshot = "e2e-step5"
        let created = try step("5a. snapshot (filesystems frozen through the agent)") {
            try somnus(["snapshot", "create", vm, "--name", snapshot, "--json"])
        }
        #expect(created.status == 0, "snapshot create failed: \(created.stderr)")
        let records = try? JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [[String: Any]]
        #expect(records?.first?["quiesced"] as? Bool == true, "not quiesced: \(created.stdout)")

        let marker = "/root/written-after-snapshot"
        let write = try somnus(["exec", vm, "--", "sh", "-c", "echo changed > \(marker) && sync"])
        #expect(write.status == 0)
        let offset = Int(Date().timeIntervalSince1970) - 300
        let skew = try somnus(["exec", vm, "--", "date", "-s", "@\(offset)"])
        #expect(skew.status == 0, "date -s failed: \(skew.stderr)")

        // A redeploy after the snapshot: the revert below brings back the agent the snapshot holds, which must
        // still accept the host (the VM's token and TLS keys are kept for its life).
        let redeployed = try step("5a'. forced agent redeploy after the snapshot") {
            try somnus(["agent", "deploy", vm, "--force", "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(redeployed.status == 0, "agent deploy --force failed: \(redeployed.stderr)")

        let reverted = try step("5b. revert → thaw, host time pushed, agent ready") {
            try somnus(["snapshot", "revert", vm, snapshot, "--json"])
        }
        #expect(reverted.status == 0, "snapshot revert failed: \(reverted.stderr)")
        let report = try? JSONSerialization.jsonObject(with: Data(reverted.stdout.utf8)) as? [String: Any]
        #expect(report?["agent_ready"] as? Bool == true, "revert report: \(reverted.stdout)")
        print(
            "e2e: revert took \(report?["revert_seconds"] ?? "?") s in libvirt, \(report?["total_seconds"] ?? "?") s "
                + "to agent ready; guest clock drift before the push \(report?["drift_ms"] ?? "?") ms")

        let gone = try somnus(["exec", vm, "--", "test", "-e", marker])
        #expect(gone.status == 1, "the file written after the snapshot survived the revert")

        let guestClock = try somnus(["exec", vm, "--", "date", "+%s.%N"])
        let guest = Double(guestClock.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let difference = abs(guest - Date().timeIntervalSince1970)
        print("e2e: guest clock differs from the host's by \(String(format: "%.3f", difference)) s after the revert")
        // `somnus exec` itself takes a moment on a loaded host; the clock was 5 minutes off before.
        #expect(difference < 3, "guest clock is \(difference) s off the host's")

        let health = try somnus(["agent", "status", vm, "--json"])
        #expect(health.status == 0, "agent status after the revert: \(health.stderr)")
    }
}
