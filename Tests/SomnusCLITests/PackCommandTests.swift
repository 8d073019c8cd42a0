import Foundation
import Testing

@Suite("somnus pack: catalog errors, run as a binary")
struct PackCommandTests {
    /// A directory of pack files, removed by the caller.
    private func packsDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-packs-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: directory.appendingPathComponent(name))
        }
        return directory
    }

    private let goodPack = """
        {"name": "cli_test_pack", "description": "A pack of the CLI tests.", "version": "1.0.0",
         "steps": [{"files": [{"path": "/etc/cli-test", "content": "x"}]}], "verify": [{"command": ["true"]}],
         "disk_estimate_mb": 1}
        """

    @Test("pack list shows the repository's packs and those of --packs-dir")
    func list() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        let directory = try packsDirectory(["cli_test_pack.json": goodPack])
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try cli(["pack", "list", "--packs-dir", directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("cli_test_pack"))
        #expect(result.stdout.contains("base_tools"))
        let json = try cli(["pack", "list", "--packs-dir", directory.path, "--json"])
        #expect(json.stdout.contains("\"disk_estimate_mb\""))
    }

    @Test("installing an unknown pack exits 2 and lists the known packs, before touching any VM")
    func unknownPack() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        let directory = try packsDirectory(["cli_test_pack.json": goodPack])
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try cli(["pack", "install", "no-such-vm", "no_such_pack", "--packs-dir", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown pack 'no_such_pack'"))
        #expect(result.stderr.contains("cli_test_pack"))
        #expect(result.stderr.contains("base_tools"))
        #expect(!result.stderr.contains("no-such-vm"))

        let fetch = try cli(["pack", "fetch", "no_such_pack", "--packs-dir", directory.path])
        #expect(fetch.status == 2)
        #expect(fetch.stderr.contains("unknown pack 'no_such_pack'"))
    }

    @Test("a malformed pack file exits 2 with an error naming the file and the field")
    func malformedPack() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        let broken = goodPack.replacingOccurrences(of: "cli_test_pack", with: "cli_broken")
            .replacingOccurrences(of: "\"disk_estimate_mb\": 1", with: "\"disk_estimate_mb\": \"lots\"")
        let directory = try packsDirectory(["cli_broken.json": broken])
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try cli(["pack", "list", "--packs-dir", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cli_broken.json"))
        #expect(result.stderr.contains("disk_estimate_mb"))
    }

    @Test("packs that require each other in a cycle exit 2 naming the cycle")
    func cycle() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        func pack(_ name: String, requires other: String) -> String {
            goodPack.replacingOccurrences(of: "\"cli_test_pack\"", with: "\"\(name)\"")
                .replacingOccurrences(of: "\"version\"", with: "\"requires\": [\"\(other)\"], \"version\"")
        }
        let directory = try packsDirectory([
            "cli_a.json": pack("cli_a", requires: "cli_b"), "cli_b.json": pack("cli_b", requires: "cli_a"),
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try cli(["pack", "install", "vm", "cli_a", "--packs-dir", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cli_a → cli_b → cli_a"))
    }

    @Test("a --packs-dir that does not exist exits 2 naming it")
    func missingDirectory() throws {
        let cli = try CLI.withImage()
        defer { cli.cleanUp() }
        let result = try cli(["pack", "list", "--packs-dir", "/nonexistent/packs"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("/nonexistent/packs"))
    }
}
