import Foundation
import Testing

@Suite("somnus global options, before or after the subcommand")
struct GlobalOptionsTests {
    /// Lists the VM names of `somnus vm list --json` output.
    private func names(_ result: CLI.Result) throws -> [String] {
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        return listed.compactMap { ($0["record"] as? [String: Any])?["name"] as? String }
    }

    private static let unset = ["SOMNUS_STATE_DIR": "", "LIBVIRT_DEFAULT_URI": ""]
    private static let deadSocket = "qemu+unix:///system?socket=/nonexistent/sock"

    @Test("--state-dir, --libvirt-uri, --json and -v are accepted before the subcommand", .timeLimit(.minutes(2)))
    func before() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let state = cli.stateDirectory.path
        let created = try cli(
            ["--state-dir", state, "--libvirt-uri", "test:///default", "--json", "-v", "vm", "create", "g1"],
            global: false, environment: Self.unset)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.hasPrefix("["))

        let listed = try cli(
            ["--json", "--state-dir=\(state)", "vm", "--libvirt-uri=test:///default", "list"], global: false,
            environment: Self.unset)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(try names(listed) == ["g1"])

        let after = try cli(["vm", "list", "--json"], environment: Self.unset)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try names(after) == ["g1"])
    }

    @Test(
        "global options before `exec` reach it, with its VM and the guest command after them", .timeLimit(.minutes(2)))
    func exec() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let result = try cli(
            [
                "--libvirt-uri", "test:///default", "-v", "exec", "--state-dir", cli.stateDirectory.path, "ghost", "--",
                "echo", "--json",
            ], global: false, environment: Self.unset)
        #expect(result.status == 2)
        #expect(result.stderr.hasSuffix("error: no VM named 'ghost' (see `somnus vm list`)\n"), "\(result.stderr)")
    }

    @Test(
        "SOMNUS_STATE_DIR and LIBVIRT_DEFAULT_URI are the defaults, and the flags win over them",
        .timeLimit(.minutes(2)))
    func environment() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let state = cli.stateDirectory.path
        let created = try cli(["vm", "create", "e1"])
        #expect(created.status == 0, "\(created.stderr)")

        let fromEnvironment = try cli(
            ["vm", "list", "--json"], global: false,
            environment: ["SOMNUS_STATE_DIR": state, "LIBVIRT_DEFAULT_URI": "test:///default"])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        #expect(try names(fromEnvironment) == ["e1"])

        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-cli-empty-\(UUID())")
        defer { try? FileManager.default.removeItem(at: empty) }
        let flagsWin = try cli(
            ["--json", "--state-dir", state, "--libvirt-uri", "test:///default", "vm", "list"], global: false,
            environment: ["SOMNUS_STATE_DIR": empty.path, "LIBVIRT_DEFAULT_URI": Self.deadSocket])
        #expect(flagsWin.status == 0, "\(flagsWin.stderr)")
        #expect(try names(flagsWin) == ["e1"])

        let deadFromEnvironment = try cli(
            ["vm", "list", "--state-dir", state], global: false,
            environment: ["SOMNUS_STATE_DIR": "", "LIBVIRT_DEFAULT_URI": Self.deadSocket])
        #expect(deadFromEnvironment.status == 1)
        #expect(deadFromEnvironment.stderr.contains("cannot connect to libvirt"))
    }

    @Test("the help names the global options and their environment variables")
    func help() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let root = try cli(["--help"], global: false)
        #expect(root.stdout.contains("--libvirt-uri"))
        #expect(root.stdout.contains("before"))
        let list = try cli(["vm", "list", "--help"], global: false)
        #expect(list.stdout.contains("SOMNUS_STATE_DIR"))
        #expect(list.stdout.contains("LIBVIRT_DEFAULT_URI"))

    }
}
