import Foundation
import Testing

/// Runs the built `somnus` binary (beside the test bundle) and captures what a user would see.
struct CLI {
    let stateDirectory: URL
    let libvirtURI: String

    static var binary: URL {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("somnus")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `somnus` with `arguments`, followed by `--state-dir` and `--libvirt-uri` when `global` is set;
    /// `environment` entries are added to (or, when empty, removed from) the test's own environment.
    func callAsFunction(
        _ arguments: [String], global: Bool = true, environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments =
            arguments + (global ? ["--state-dir", stateDirectory.path, "--libvirt-uri", libvirtURI] : [])
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment {
            merged[name] = value.isEmpty ? nil : value
        }
        process.environment = merged
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cli-out-\(UUID())")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("cli-err-\(UUID())")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// A state directory with a tiny qcow2 "image" (enough to define domains, not to boot them).
    static func withImage(libvirtURI: String = "qemu:///system") throws -> CLI {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-cli-\(UUID())")
        let image = root.appendingPathComponent("images/base")
        try FileManager.default.createDirectory(at: image, withIntermediateDirectories: true)
        try Data("kernel".utf8).write(to: image.appendingPathComponent("vmlinuz"))
        try Data("initrd".utf8).write(to: image.appendingPathComponent("initrd.img"))
        let qemuImg = Process()
        qemuImg.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
        qemuImg.arguments = ["create", "-q", "-f", "qcow2", image.appendingPathComponent("disk.qcow2").path, "64M"]
        try qemuImg.run()
        qemuImg.waitUntilExit()
        let manifest = """
            {"inputHash":"cli-test","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2",
             "kernelCommandLine":"root=/dev/vda rw console=ttyS0"}
            """
        try Data(manifest.utf8).write(to: image.appendingPathComponent("manifest.json"))
        return CLI(stateDirectory: root, libvirtURI: libvirtURI)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: stateDirectory)
    }
}

@Suite("somnus CLI, run as a binary")
struct SomnusCLITests {
    @Test("every command has --help that says what it does")
    func help() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        let root = try cli(["--help"], global: false)
        #expect(root.status == 0)
        #expect(root.stdout.contains("Example: somnus up demo"))
        for command in ["up", "down", "vm", "image", "agent", "snapshot", "exec", "health", "daemon"] {
            #expect(root.stdout.contains(command), "root help lacks \(command)")
        }
        let commands = [
            ["up"], ["down"], ["vm", "create"], ["vm", "list"], ["vm", "profile"], ["vm", "console-log"],
            ["snapshot", "create"], ["snapshot", "revert"], ["agent", "deploy"], ["exec"], ["health"], ["daemon"],
            ["image", "build"], ["soft-reboot"], ["vm", "start"], ["vm", "stop"], ["vm", "delete"], ["vm", "show"],
            ["agent", "status"], ["snapshot", "list"], ["snapshot", "delete"], ["pack", "list"], ["pack", "fetch"],
            ["pack", "install"], ["errors"],
        ]
        for command in commands {
            let result = try cli(command + ["--help"], global: false)
            #expect(result.status == 0, "\(command) --help failed")
            #expect(result.stdout.contains("OVERVIEW:"), "\(command) --help has no overview")
            #expect(result.stdout.contains("Example: somnus "), "\(command) --help has no example")
        }
        let version = try cli(["--version"], global: false)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test("an unknown VM is named in one line on stderr and exits 2", .timeLimit(.minutes(2)))
    func unknownVM() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        for command in [["vm", "show", "ghost"], ["vm", "start", "ghost"], ["snapshot", "list", "ghost"]] {
            let result = try cli(command)
            #expect(result.status == 2, "\(command)")
            #expect(result.stderr == "error: no VM named 'ghost' (see `somnus vm list`)\n", "\(command)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test("a missing image names the command that builds it", .timeLimit(.minutes(2)))
    func missingImage() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let result = try cli(["vm", "create", "nothing", "--image", "/nonexistent/image"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("somnus image build"))
    }

    @Test("an unreachable libvirt says how to start it and exits 1", .timeLimit(.minutes(2)))
    func libvirtDown() throws {
        let cli = try CLI.withImage(libvirtURI: "qemu+unix:///system?socket=/nonexistent/sock")
        defer { cli.cleanUp() }
        let result = try cli(["vm", "list"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot connect to libvirt"))
        #expect(result.stderr.contains("provisioning/setup-host.sh"))
    }

    @Test(
        "create, list, profile, snapshot and delete across invocations on a real libvirtd",
        .timeLimit(.minutes(3)))
    func lifecycleOnLibvirtd() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        let name = "cli-" + UUID().uuidString.prefix(8).lowercased()
        let created = try cli(["vm", "create", name, "--accel", "tcg", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("\"shut off\""))
        defer { _ = try? cli(["vm", "delete", name]) }

        let duplicate = try cli(["vm", "create", name])
        #expect(duplicate.status == 2)
        #expect(duplicate.stderr.contains("a VM named '\(name)' already exists"))

        let list = try cli(["vm", "list", "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(listed?.count == 1)
        #expect((listed?.first?["record"] as? [String: Any])?["name"] as? String == name)

        let badProfile = try cli(["vm", "profile", name, "turbo"])
        #expect(badProfile.status == 2)
        #expect(badProfile.stderr.contains("idle, coding, research, media_creation"))

        let profile = try cli(["vm", "profile", name, "research", "--json"])
        #expect(profile.status == 0, "\(profile.stderr)")
        #expect(profile.stdout.contains("\"research\""))

        let snapshot = try cli(["snapshot", "create", name, "--name", "s1", "--description", "a <b> & 'c'"])
        #expect(snapshot.status == 0, "\(snapshot.stderr)")
        #expect(snapshot.stdout.contains("no (agent unreachable: no agent deployed)"))
        let snapshots = try cli(["snapshot", "list", name])
        #expect(snapshots.stdout.contains("s1"))

        let deleted = try cli(["vm", "delete", name])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        let virsh = Process()
        virsh.executableURL = URL(fileURLWithPath: "/usr/bin/virsh")
        virsh.arguments = ["-c", "qemu:///system", "dominfo", name]
        virsh.standardOutput = FileHandle.nullDevice
        virsh.standardError = FileHandle.nullDevice
        try virsh.run()
        virsh.waitUntilExit()
        #expect(virsh.terminationStatus != 0, "libvirt still has \(name)")
        #expect(!FileManager.default.fileExists(atPath: cli.stateDirectory.appendingPathComponent("vms/\(name)").path))
    }
}
