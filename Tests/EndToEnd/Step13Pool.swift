import Foundation
import Testing

extension EndToEndTests {
    /// Step 13: the warm pool. Two VMs are made, deployed and parked; each has its own token, agent certificate,
    /// SSH host key and MAC address. One is marked as made from an outdated image and the next fill drains it.
    /// `up` takes the other: restored, not booted, healthy, with the host's time, its own machine-id and host key
    /// (against `vm`, booted on its own), listed under the user's name only. `down` of the suspended VM removes its
    /// save file and directory, and a drain leaves nothing.
    func poolStep(vm: String) throws {
        let layout = EndToEnd.stateDirectory
        _ = try somnus(["pool", "drain"])
        let filled = try step("13a. pool fill --size 2 (boot, deploy, park each)") {
            try somnus(["pool", "fill", "--size", "2", "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(filled.status == 0, "pool fill failed: \(filled.stderr)")
        let status = try JSONSerialization.jsonObject(with: Data(filled.stdout.utf8)) as? [String: Any]
        let pool = status?["status"] as? [String: Any]
        let entries = (pool?["vms"] as? [[String: Any]]) ?? []
        #expect(pool?["ready"] as? Int == 2, "pool after the fill: \(filled.stdout)")
        print(
            "e2e: pool of 2 takes \(((pool?["total_bytes"] as? Int) ?? 0) / 1_048_576) MiB of host disk; save files "
                + "\(entries.map { (($0["save_bytes"] as? Int) ?? 0) / 1_048_576 }) MiB")
        guard entries.count == 2 else { return }
        let names = entries.compactMap { $0["name"] as? String }
        #expect(entries.allSatisfy { ($0["save_bytes"] as? Int ?? 0) > 0 && $0["state"] as? String == "suspended" })
        #expect(Set(entries.compactMap { $0["mac_address"] as? String }).count == 2)
        for file in ["agent.token", "agent.crt", "known_hosts"] {
            let contents = names.map { try? String(contentsOfFile: "\(layout)/vms/\($0)/\(file)", encoding: .utf8) }
            #expect(contents.allSatisfy { $0?.isEmpty == false } && contents[0] != contents[1], "\(file) is shared")
        }
        let users = try somnus(["vm", "list", "--json"])
        #expect(!users.stdout.contains("somnus-pool-"), "pool VMs are listed as users' VMs: \(users.stdout)")

        // The second VM's image is made outdated in the inventory: the next fill (size 1) drains it, boots none.
        let outdated = names[1]
        let marked = Process()
        marked.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        marked.arguments = [
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                + "c.execute(\"UPDATE vms SET pool_image='outdated' WHERE name=?\", (sys.argv[2],)); c.commit()",
            layout + "/inventory.sqlite", outdated,
        ]
        try marked.run()
        marked.waitUntilExit()
        let refilled = try step("13b. a pool VM of an outdated image is drained") {
            try somnus(["pool", "fill", "--size", "1", "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(refilled.status == 0, "\(refilled.stderr)")
        #expect(refilled.stderr.contains("\(outdated): made from an outdated image"), "\(refilled.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(layout)/vms/\(outdated)"))

        let taken = "e2e-pooled"
        _ = try somnus(["down", taken])
        let up = try step("13c. up from the pool → restored, agent healthy") {
            try somnus(["up", taken, "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(up.status == 0, "up from the pool failed: \(up.stderr)")
        let summary = try? JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
        #expect(summary?["from_pool"] as? Bool == true, "up did not take the parked VM: \(up.stdout)")
        #expect(summary?["health"] as? String == "healthy")
        print("e2e: up from the pool, restore to agent healthy \(summary?["boot_to_ready_seconds"] ?? "?") s")

        let before = Date().timeIntervalSince1970
        let guestClock = try somnus(["exec", taken, "--", "date", "+%s.%N"])
        let after = Date().timeIntervalSince1970
        let guest = Double(guestClock.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let drift = guest < before ? before - guest : max(0, guest - after)
        #expect(drift < 0.5, "the pooled VM's clock is \(drift) s off the host's")
        for file in ["/etc/machine-id", "/etc/ssh/ssh_host_ed25519_key.pub"] {
            let mine = try somnus(["exec", taken, "--", "cat", file]).stdout
            let other = try somnus(["exec", vm, "--", "cat", file]).stdout
            #expect(!mine.isEmpty && mine != other, "\(file) is the same in \(taken) and \(vm)")
        }
        let listed = try somnus(["vm", "list", "--json"])
        #expect(listed.stdout.contains("\"\(taken)\""))
        #expect(!listed.stdout.contains("\"name\" : \"somnus-pool-"), "\(listed.stdout)")

        let suspended = try somnus(["vm", "suspend", taken])
        #expect(suspended.status == 0, "\(suspended.stderr)")
        let saveFile = "/var/lib/libvirt/qemu/save/\(names[0]).save"
        #expect(FileManager.default.fileExists(atPath: saveFile))
        let down = try step("13d. down of a suspended VM removes its save file") { try somnus(["down", taken]) }
        #expect(down.status == 0, "\(down.stderr)")
        #expect(!FileManager.default.fileExists(atPath: saveFile))
        #expect(!FileManager.default.fileExists(atPath: "\(layout)/vms/\(names[0])"))

        let drained = try somnus(["pool", "drain", "--json"])
        #expect(drained.status == 0, "\(drained.stderr)")
        let empty = try? JSONSerialization.jsonObject(with: Data(drained.stdout.utf8)) as? [String: Any]
        let rest = (empty?["status"] as? [String: Any])?["vms"] as? [Any]
        #expect(rest?.isEmpty == true, "pool after the drain: \(drained.stdout)")
    }
}
