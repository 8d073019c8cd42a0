import Foundation
import Packs
import Testing

@Suite("Pack catalogs: loading and dependency order")
struct PackCatalogTests {
    private func manifest(_ name: String, requires: [String] = []) -> PackManifest {
        PackManifest(
            name: name, description: "\(name) pack", version: "1", requires: requires,
            steps: [.shell(PackShellStep(command: "true"))], verify: [PackCheck(command: .shell("true"))],
            diskEstimateMB: 1)
    }

    @Test("the four real packs in Images/packs load, validate and verify what they install")
    func realPacksValidate() throws {
        let catalog = try PackCatalog.load(directory: PackTestSupport.realPacks)
        #expect(catalog.names == ["ai_research", "base_tools", "data_analysis", "web_development"])
        for name in catalog.names {
            let pack = try catalog.manifest(name)
            #expect(!pack.verify.isEmpty, "\(name)")
            #expect(pack.diskEstimateMB > 0, "\(name)")
            let commands = pack.steps.map(\.description).joined(separator: " ")
            #expect(!commands.contains("snap "), "\(name)")
            #expect(!commands.contains("create-react-app"), "\(name)")
        }
        let web = try catalog.manifest("web_development")
        #expect(web.requires == ["base_tools"])
        #expect(web.aptPackages.contains("nodejs") && web.aptPackages.contains("npm"))
        #expect(try catalog.manifest("base_tools").aptPackages.contains("git"))
        #expect(try catalog.manifest("base_tools").aptPackages.contains("python3-venv"))
        let research = try catalog.manifest("ai_research")
        #expect(research.aptPackages.contains("python3-numpy"))
        #expect(!research.pipPackages.isEmpty)
        #expect(!research.pipPackages.contains { $0.lowercased().hasPrefix("torch") })
        #expect(try catalog.installOrder(["web_development"]).map(\.name) == ["base_tools", "web_development"])
    }

    @Test("the test fixtures load")
    func fixturesValidate() throws {
        let catalog = try PackCatalog.load(directory: PackTestSupport.fixtures)
        #expect(catalog.names == ["test_apt_small", "test_failing", "test_files", "test_vm_dies"])
        #expect(try catalog.manifest("test_apt_small").aptPackages == ["hello"])
        #expect(try catalog.manifest("test_failing").steps.count == 3)
    }

    @Test("requirements come first, each pack once, in the order asked")
    func installOrder() throws {
        let catalog = try PackCatalog([
            manifest("base"), manifest("web", requires: ["base"]), manifest("data", requires: ["base", "py"]),
            manifest("py", requires: ["base"]), manifest("alone"),
        ])
        #expect(try catalog.installOrder(["web"]).map(\.name) == ["base", "web"])
        #expect(try catalog.installOrder(["data", "web"]).map(\.name) == ["base", "py", "data", "web"])
        #expect(try catalog.installOrder(["alone", "web", "base"]).map(\.name) == ["alone", "base", "web"])
        #expect(try catalog.installOrder([]).isEmpty)
    }

    @Test("a cycle of requirements is an error naming the cycle")
    func cycle() throws {
        let catalog = try PackCatalog([
            manifest("a", requires: ["b"]), manifest("b", requires: ["c"]), manifest("c", requires: ["a"]),
            manifest("d", requires: ["a"]),
        ])
        let error = try #require(throws: PackError.self) { try catalog.installOrder(["d"]) }
        #expect(error.code == .cycle)
        #expect(error.message == "packs require each other in a cycle: a → b → c → a")
    }

    @Test("an unknown pack is an error listing the known packs")
    func unknownPack() throws {
        let catalog = try PackCatalog([manifest("base"), manifest("web", requires: ["base"])])
        let error = try #require(throws: PackError.self) { try catalog.installOrder(["web", "nope"]) }
        #expect(error.code == .unknownPack)
        #expect(error.message == "unknown pack 'nope' (known: base, web)")
        let direct = try #require(throws: PackError.self) { try catalog.manifest("x") }
        #expect(direct.message == "unknown pack 'x' (known: base, web)")
    }

    @Test("a requirement missing from the directory is an error naming the file and the field")
    func unknownRequirement() throws {
        var object = PackTestSupport.validObject()
        object["requires"] = ["base_tools", "ghost"]
        let directory = try PackTestSupport.directory(with: object)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try PackTestSupport.write(
            PackTestSupport.validObject(name: "base_tools"), to: directory, file: "base_tools.json")
        let error = try #require(throws: PackError.self) { try PackCatalog.load(directory: directory) }
        #expect(error.code == .unknownPack)
        #expect(error.file == "sample.json")
        #expect(error.field == "requires[1]")
        #expect(error.message == "sample.json: requires[1] names unknown pack 'ghost' (known: base_tools, sample)")
    }

    @Test("a name that differs from the file name is an error naming both")
    func nameMismatch() throws {
        let directory = try PackTestSupport.directory(with: PackTestSupport.validObject(), file: "other.json")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = try #require(throws: PackError.self) { try PackCatalog.load(directory: directory) }
        #expect(error.code == .nameMismatch)
        #expect(error.field == "name")
        #expect(error.message == "other.json: name 'sample' must equal the file name 'other'")
    }

    @Test("two packs with one name are refused")
    func duplicateNames() throws {
        let error = try #require(throws: PackError.self) { try PackCatalog([manifest("a"), manifest("a")]) }
        #expect(error.code == .nameMismatch)
        #expect(error.message == "two packs are named 'a'")
    }

    @Test("a missing directory is an io error naming it; other files are ignored")
    func directoryProblems() throws {
        let error = try #require(throws: PackError.self) {
            try PackCatalog.load(directory: "/nonexistent/somnus-packs")
        }
        #expect(error.code == .io)
        #expect(error.message.hasPrefix("/nonexistent/somnus-packs: cannot be read"))
        let directory = try PackTestSupport.directory(with: PackTestSupport.validObject())
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("not a pack".utf8).write(to: URL(fileURLWithPath: directory + "/README.md"))
        #expect(try PackCatalog.load(directory: directory).names == ["sample"])
    }
}
