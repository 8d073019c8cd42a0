import Foundation
import Testing

@Suite("somnus output: one value per command, printed as a table or as snake_case JSON")
struct OutputTests {
    /// Every key of every object in a JSON document.
    private static func keys(_ value: Any) -> [String] {
        if let object = value as? [String: Any] {
            return object.keys.sorted() + object.values.flatMap(keys)
        }
        if let array = value as? [Any] {
            return array.flatMap(keys)
        }
        return []
    }

    @Test("every --json answer uses snake_case keys, and the table shows the same result", .timeLimit(.minutes(2)))
    func snakeCase() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let commands: [[String]] = [
            ["vm", "create", "keys", "--accel", "tcg"], ["vm", "list"], ["vm", "show", "keys"],
            ["snapshot", "list", "keys"], ["health"], ["pack", "list"], ["vm", "delete", "keys"],
        ]
        for command in commands {
            let result = try cli(command + ["--json"])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8), options: .fragmentsAllowed)
            let keys = Self.keys(document)
            let camel = keys.filter { $0.contains(where: \.isUppercase) || $0.contains("-") }
            #expect(camel.isEmpty, "\(command): \(camel)")
            if command.prefix(2) == ["vm", "create"] {
                // The test driver forgets domains between processes: only create's answer has libvirt's figures.
                #expect(keys.contains("memory_mib") && keys.contains("console_log_path") && keys.contains("created_at"))
            }
        }
        let created = try cli(["vm", "create", "table", "--accel", "tcg"])
        #expect(created.stdout.hasPrefix("NAME   STATE     PROFILE  VCPUS  MEMORY"), "\(created.stdout)")
        #expect(created.stdout.contains("shut off  idle     1      4096 MiB"), "\(created.stdout)")
        let shown = try cli(["vm", "show", "table"])
        #expect(shown.stdout.hasPrefix("FIELD          VALUE\nname           table\n"), "\(shown.stdout)")
        let deleted = try cli(["vm", "delete", "table"])
        #expect(deleted.stdout == "deleted table\n")
        let deletedJSON = try cli(["vm", "delete", "keys", "--json"])
        #expect(deletedJSON.status == 2)
    }
}
