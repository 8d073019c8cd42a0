import Foundation
import Testing

@Suite("somnus CLI: custom profiles, soft-reboot, progress and --json")
struct SupervisorAcceptanceCLITests {
    @Test("profiles.json in the state dir adds profiles that vm create and vm profile accept", .timeLimit(.minutes(2)))
    func customProfiles() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        try #"{"build": {"vcpus": 2, "memory_mib": 2048}}"#.write(
            to: cli.stateDirectory.appendingPathComponent("profiles.json"), atomically: true, encoding: .utf8)
        let created = try cli(["vm", "create", "box", "--profile", "build", "--accel", "tcg", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("\"build\""))
        let unknown = try cli(["vm", "profile", "box", "turbo"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("idle, coding, research, media_creation, build"), "\(unknown.stderr)")
    }

    @Test("a broken --profiles file is refused naming the file and the field, exit 2", .timeLimit(.minutes(2)))
    func brokenProfiles() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let file = cli.stateDirectory.appendingPathComponent("mine.json")
        try #"{"build": {"vcpus": 0, "memory_mib": 2048}}"#.write(to: file, atomically: true, encoding: .utf8)
        let result = try cli(["vm", "list", "--profiles", file.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains(file.path), "\(result.stderr)")
        #expect(result.stderr.contains("profile 'build': field 'vcpus'"), "\(result.stderr)")
    }

    @Test("soft-reboot of a VM without an agent says how to deploy one", .timeLimit(.minutes(2)))
    func softRebootWithoutAgent() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let created = try cli(["vm", "create", "box", "--accel", "tcg"])
        #expect(created.status == 0, "\(created.stderr)")
        let result = try cli(["soft-reboot", "box", "nginx.service"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("'box' has no agent deployed yet (`somnus agent deploy`)"), "\(result.stderr)")
        let ghost = try cli(["soft-reboot", "ghost"])
        #expect(ghost.status == 2)
        #expect(ghost.stderr.contains("'ghost'"))
    }

    @Test("with --json, stdout is only the JSON result and no progress is written", .timeLimit(.minutes(2)))
    func jsonStaysClean() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        // One invocation: the test driver forgets domains between processes, so create and snapshot are
        // checked through the parts that survive (the inventory) and a snapshot of a fresh VM fails cleanly.
        let created = try cli(["vm", "create", "box", "--accel", "tcg", "--json"])
        #expect(created.status == 0)
        #expect(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) is [[String: Any]])
        let snapshot = try cli(["snapshot", "create", "box", "--name", "s1", "--json"])
        #expect(snapshot.stdout.isEmpty, "\(snapshot.stdout)")
        #expect(!snapshot.stderr.contains("freezing"), "\(snapshot.stderr)")
        let plain = try cli(["snapshot", "create", "box", "--name", "s1"])
        #expect(plain.stderr.contains("freezing filesystems of box"), "\(plain.stderr)")
        #expect(!plain.stderr.contains("\u{1B}["), "escape codes on a non-terminal: \(plain.stderr)")
    }
}
