import Foundation
import Testing

@Suite("somnus vm suspend and vm resume, run as a binary")
struct SuspendCommandTests {
    /// The CLI on `cli`'s state directory with a libvirt test driver whose node file defines `name`, running or
    /// shut off, so that the domain exists in every process (the test driver forgets state between processes).
    private func withDomain(_ cli: CLI, name: String, running: Bool = true) throws -> CLI {
        let node = cli.stateDirectory.appendingPathComponent("node.xml")
        let xml = """
            <node>
              <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
                <name>\(name)</name>
                <test:runstate>\(running ? 1 : 5)</test:runstate>
                <memory unit='MiB'>1024</memory>
                <os><type arch='x86_64'>hvm</type></os>
              </domain>
            </node>
            """
        try xml.write(to: node, atomically: true, encoding: .utf8)
        return CLI(stateDirectory: cli.stateDirectory, libvirtURI: "test://" + node.path)
    }

    @Test("vm suspend and vm resume have help with an example")
    func help() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        for command in [["vm", "suspend"], ["vm", "resume"]] {
            let result = try cli(command + ["--help"], global: false)
            #expect(result.status == 0, "\(command) --help failed")
            #expect(
                result.stdout.contains("Example: somnus \(command.joined(separator: " ")) demo"), "\(result.stdout)")
        }
        let start = try cli(["vm", "start", "--help"], global: false)
        #expect(start.stdout.contains("a suspended one is resumed"), "\(start.stdout)")
    }

    @Test("suspending a running VM prints it suspended with the time it took; --json has the seconds")
    func suspendRunning() throws {
        let base = try CLI.withImage(libvirtURI: "test:///default")
        defer { base.cleanUp() }
        #expect(try base(["vm", "create", "box", "--accel", "tcg"]).status == 0)
        let cli = try withDomain(base, name: "box")

        let plain = try cli(["vm", "suspend", "box"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.hasPrefix("VM   STATE      SUSPEND\nbox  suspended  "), "\(plain.stdout)")
        #expect(plain.stderr.contains("saving the memory of box"), "\(plain.stderr)")

        let json = try cli(["vm", "suspend", "box", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stderr.isEmpty, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["vm"] as? String == "box")
        #expect(object["suspend_seconds"] is Double)
    }

    @Test("resuming a running VM is refused with its state, exit 1")
    func resumeRunning() throws {
        let base = try CLI.withImage(libvirtURI: "test:///default")
        defer { base.cleanUp() }
        #expect(try base(["vm", "create", "box", "--accel", "tcg"]).status == 0)
        let cli = try withDomain(base, name: "box")
        let result = try cli(["vm", "resume", "box"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: 'box' is running, not suspended"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("suspending a shut off VM is refused naming it; an unknown VM exits 2")
    func suspendRefused() throws {
        let base = try CLI.withImage(libvirtURI: "test:///default")
        defer { base.cleanUp() }
        #expect(try base(["vm", "create", "box", "--accel", "tcg"]).status == 0)
        let cli = try withDomain(base, name: "box", running: false)
        let off = try cli(["vm", "suspend", "box"])
        #expect(off.status == 1)
        #expect(
            off.stderr.hasSuffix("error: 'box' is shut off, not running; only a running VM can be suspended\n"),
            "\(off.stderr)")
        for command in [["vm", "suspend", "ghost"], ["vm", "resume", "ghost"]] {
            let ghost = try cli(command)
            #expect(ghost.status == 2, "\(command)")
            #expect(
                ghost.stderr == "error: no VM named 'ghost' (see `somnus vm list`)\n", "\(command): \(ghost.stderr)")
        }
    }
}
