import Foundation
import Testing

extension EndToEndTests {
    /// Step 12: suspend a running VM (its memory saved to disk), see it listed as suspended, resume it: its agent
    /// healthy, the guest's clock set to the host's, a file in its RAM-backed /run and a memory written before the
    /// suspend still there.
    func suspendStep(vm: String) throws {
        let word = "quokka\(UInt32.random(in: 100_000...999_999))"
        let memory = ["exec", vm, "--", "somnus-agent", "memory"]
        let added = try somnus(memory + ["add", "--namespace", "e2e-suspend", "The parked word is \(word)"])
        #expect(added.status == 0, "memory add before the suspend: \(added.stderr)")
        // /run is a tmpfs: the file survives only if the guest's memory is restored, not if it boots again.
        let marker = "/run/somnus-e2e-suspend"
        let written = try somnus(["exec", vm, "--", "sh", "-c", "echo \(word) > \(marker)"])
        #expect(written.status == 0, "\(written.stderr)")

        let suspended = try step("12a. suspend (managed save)") {
            try somnus(["vm", "suspend", vm, "--json"])
        }
        #expect(suspended.status == 0, "vm suspend failed: \(suspended.stderr)")
        let suspendReport = try? JSONSerialization.jsonObject(with: Data(suspended.stdout.utf8)) as? [String: Any]

        let list = try somnus(["vm", "list", "--json"])
        let statuses = (try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]) ?? []
        let state = statuses.first { ($0["record"] as? [String: Any])?["name"] as? String == vm }?["state"] as? String
        #expect(state == "suspended", "vm list after the suspend: \(list.stdout)")

        let resumed = try step("12b. resume → clock pushed, agent healthy") {
            try somnus(["vm", "resume", vm, "--json"])
        }
        #expect(resumed.status == 0, "vm resume failed: \(resumed.stderr)")
        let resumeReport = try? JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any]
        #expect(resumeReport?["agent_ready"] as? Bool == true, "resume report: \(resumed.stdout)")
        print(
            "e2e: suspend took \(suspendReport?["suspend_seconds"] ?? "?") s; resume took "
                + "\(resumeReport?["restore_seconds"] ?? "?") s in libvirt, \(resumeReport?["total_seconds"] ?? "?") s "
                + "to agent healthy; guest clock drift before the push \(resumeReport?["drift_ms"] ?? "?") ms")

        // The guest's reading lies between two host readings taken around the command.
        let before = Date().timeIntervalSince1970
        let guestClock = try somnus(["exec", vm, "--", "date", "+%s.%N"])
        let after = Date().timeIntervalSince1970
        let guest = Double(guestClock.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let error = guest < before ? before - guest : max(0, guest - after)
        print(
            "e2e: guest clock \(String(format: "%.3f", error)) s outside the host's window of "
                + "\(String(format: "%.3f", after - before)) s after the resume")
        #expect(error < 0.5, "guest clock is \(error) s off the host's")

        let kept = try somnus(["exec", vm, "--", "cat", marker])
        #expect(kept.stdout.contains(word), "the resume booted the guest instead of restoring it: \(kept.stderr)")
        let search = try somnus(memory + ["search", "--namespace", "e2e-suspend", "--json", "parked word"])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains(word), "the memory written before the suspend is gone: \(search.stdout)")
    }
}
