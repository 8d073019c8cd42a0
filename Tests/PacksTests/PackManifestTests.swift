import Foundation
import Packs
import Testing

@Suite("Pack manifests: parsing and validation")
struct PackManifestTests {
    @Test("a valid pack parses with every step kind and encodes back to the same manifest")
    func parsesAndRoundTrips() throws {
        let data = try JSONSerialization.data(withJSONObject: PackTestSupport.validObject())
        let manifest = try PackManifest.parse(data, source: "sample.json")
        #expect(manifest.name == "sample")
        #expect(manifest.steps.count == 4)
        #expect(manifest.steps[0] == .apt(packages: ["tree"]))
        #expect(manifest.steps[1] == .pip(packages: ["requests==2.31.0"]))
        #expect(manifest.steps[2] == .files([PackFile(path: "/etc/sample.conf", content: "x=1\n", mode: "0600")]))
        #expect(manifest.steps[3] == .shell(PackShellStep(command: "echo hi", timeoutSeconds: 30)))
        #expect(manifest.verify == [PackCheck(command: .argv(["tree", "--version"]), expectOutput: "^tree v")])
        #expect(manifest.diskEstimateMB == 5)
        let again = try PackManifest.parse(try JSONEncoder().encode(manifest), source: "again")
        #expect(again == manifest)
        let encoded = String(decoding: try JSONEncoder().encode(manifest), as: UTF8.self)
        #expect(encoded.contains("\"disk_estimate_mb\":5"))
        #expect(encoded.contains("\"timeout_s\":30"))
    }

    @Test("optional fields take their defaults")
    func defaults() throws {
        let json = """
            {"name":"tiny","description":"d","version":"1","steps":[{"shell":{"command":"true"}}],
             "verify":[{"command":"true"}],"disk_estimate_mb":0,
             "requires":[]}
            """
        let manifest = try PackManifest.parse(Data(json.utf8), source: "tiny.json")
        #expect(manifest.steps == [.shell(PackShellStep(command: "true", timeoutSeconds: 600))])
        #expect(manifest.verify[0].expectExit == 0)
        #expect(manifest.verify[0].expectOutput == nil)
        #expect(manifest.verify[0].timeoutSeconds == 60)
        #expect(manifest.verify[0].command == .shell("true"))
        #expect(manifest.verify[0].command.arguments == ["/bin/sh", "-c", "true"])
        let fileStep = """
            {"name":"tiny","description":"d","version":"1","steps":[{"files":[{"path":"/a/b","content":""}]}],
             "verify":[{"command":["true"]}],"disk_estimate_mb":0}
            """
        let withFile = try PackManifest.parse(Data(fileStep.utf8), source: "tiny.json")
        #expect(withFile.requires == [])
        guard case .files(let files) = withFile.steps[0] else {
            Issue.record("not a files step")
            return
        }
        #expect(files[0].mode == "0644")
        #expect(files[0].permissions == 0o644)
    }

    /// One broken pack and what its error must say.
    struct Broken: CustomTestStringConvertible, Sendable {
        let change: @Sendable (inout [String: Any]) -> Void
        let code: PackError.Code
        let field: String
        let message: String
        let testDescription: String

        init(
            _ description: String, _ code: PackError.Code, field: String, message: String,
            change: @escaping @Sendable (inout [String: Any]) -> Void
        ) {
            self.testDescription = description
            self.code = code
            self.field = field
            self.message = message
            self.change = change
        }
    }

    static let broken: [Broken] = [
        Broken("missing name", .missingField, field: "name", message: "sample.json: name is missing") {
            $0["name"] = nil
        },
        Broken("name with capitals", .invalidField, field: "name", message: "sample.json: name must match [a-z0-9_]+") {
            $0["name"] = "Sample"
        },
        Broken("name of wrong type", .invalidField, field: "name", message: "sample.json: name must be a string") {
            $0["name"] = 5
        },
        Broken("empty description", .invalidField, field: "description", message: "description must not be empty") {
            $0["description"] = "  "
        },
        Broken("version with spaces", .invalidField, field: "version", message: "version must match") {
            $0["version"] = "1 0"
        },
        Broken("missing version", .missingField, field: "version", message: "sample.json: version is missing") {
            $0["version"] = nil
        },
        Broken(
            "requirement with a bad name", .invalidField, field: "requires[0]",
            message: "requires[0] must be a pack name"
        ) {
            $0["requires"] = ["Bad-Name"]
        },
        Broken("pack requiring itself", .cycle, field: "requires[1]", message: "requires[1] names the pack itself") {
            $0["requires"] = ["other", "sample"]
        },
        Broken(
            "requirement named twice", .invalidField, field: "requires", message: "requires must not name a pack twice"
        ) {
            $0["requires"] = ["other", "other"]
        },
        Broken("no steps", .invalidField, field: "steps", message: "sample.json: steps must have at least one step") {
            $0["steps"] = []
        },
        Broken("no checks", .invalidField, field: "verify", message: "sample.json: verify must have at least one check")
        {
            $0["verify"] = []
        },
        Broken(
            "negative disk estimate", .invalidField, field: "disk_estimate_mb", message: "disk_estimate_mb must be 0…"
        ) {
            $0["disk_estimate_mb"] = -1
        },
        Broken(
            "missing disk estimate", .missingField, field: "disk_estimate_mb", message: "disk_estimate_mb is missing"
        ) {
            $0["disk_estimate_mb"] = nil
        },
        Broken(
            "unknown top-level key", .unknownKey, field: "homepage", message: "sample.json: homepage is not a known key"
        ) {
            $0["homepage"] = "https://example.com"
        },
        Broken(
            "shell timeout out of range", .invalidField, field: "steps[3].shell.timeout_s",
            message: "sample.json: steps[3].shell.timeout_s must be 1…3600, not 0"
        ) {
            $0["steps"] = Self.steps(replacing: 3, with: ["shell": ["command": "true", "timeout_s": 0]])
        },
        Broken(
            "apt timeout out of range", .invalidField, field: "steps[0].apt.timeout_s",
            message: "sample.json: steps[0].apt.timeout_s must be 1…7200, not 7201"
        ) {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": ["tree"], "timeout_s": 7201]])
        },
        Broken(
            "unknown key in an apt step", .unknownKey, field: "steps[0].apt.release",
            message: "sample.json: steps[0].apt.release is not a known key (known: packages, timeout_s)"
        ) {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": ["tree"], "release": "sid"]])
        },
        Broken(
            "shell timeout of wrong type", .invalidField, field: "steps[3].shell.timeout_s",
            message: "steps[3].shell.timeout_s must be an integer"
        ) {
            $0["steps"] = Self.steps(replacing: 3, with: ["shell": ["command": "true", "timeout_s": "ten"]])
        },
        Broken("empty shell command", .invalidField, field: "steps[3].shell.command", message: "must not be empty") {
            $0["steps"] = Self.steps(replacing: 3, with: ["shell": ["command": " "]])
        },
        Broken(
            "unknown key in a shell step", .unknownKey, field: "steps[3].shell.user",
            message: "sample.json: steps[3].shell.user is not a known key (known: command, timeout_s)"
        ) {
            $0["steps"] = Self.steps(replacing: 3, with: ["shell": ["command": "true", "user": "root"]])
        },
        Broken(
            "unknown step kind", .unknownKey, field: "steps[0].snap",
            message: "steps[0].snap is not a known step kind (known: apt, files, pip, shell)"
        ) {
            $0["steps"] = Self.steps(replacing: 0, with: ["snap": ["packages": ["code"]]])
        },
        Broken("step with two kinds", .invalidField, field: "steps[0]", message: "steps[0] must have exactly one of") {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": ["tree"]], "shell": ["command": "true"]])
        },
        Broken("empty step", .invalidField, field: "steps[1]", message: "steps[1] must have exactly one of") {
            $0["steps"] = Self.steps(replacing: 1, with: [:])
        },
        Broken("empty apt list", .invalidField, field: "steps[0].apt.packages", message: "must not be empty") {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": []]])
        },
        Broken(
            "apt option smuggled as a package", .invalidField, field: "steps[0].apt.packages[1]",
            message: "steps[0].apt.packages[1] '--allow-unauthenticated' is not a Debian package name"
        ) {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": ["tree", "--allow-unauthenticated"]]])
        },
        Broken(
            "unknown key in an apt step", .unknownKey, field: "steps[0].apt.release",
            message: "steps[0].apt.release is not a known key"
        ) {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": ["tree"], "release": "sid"]])
        },
        Broken(
            "apt package twice", .invalidField, field: "steps[0].apt.packages", message: "must not name a package twice"
        ) {
            $0["steps"] = Self.steps(replacing: 0, with: ["apt": ["packages": ["tree", "tree"]]])
        },
        Broken(
            "pip option smuggled as a package", .invalidField, field: "steps[1].pip.packages[0]",
            message: "steps[1].pip.packages[0] '--index-url=http://evil' is not a pip requirement"
        ) {
            $0["steps"] = Self.steps(replacing: 1, with: ["pip": ["packages": ["--index-url=http://evil"]]])
        },
        Broken(
            "relative file path", .invalidField, field: "steps[2].files[0].path",
            message: "steps[2].files[0].path must be an absolute file path"
        ) {
            $0["steps"] = Self.steps(replacing: 2, with: ["files": [["path": "etc/x", "content": ""]]])
        },
        Broken(
            "file path escaping with ..", .invalidField, field: "steps[2].files[0].path",
            message: "not '/etc/../root/x'"
        ) {
            $0["steps"] = Self.steps(replacing: 2, with: ["files": [["path": "/etc/../root/x", "content": ""]]])
        },
        Broken(
            "file mode not octal", .invalidField, field: "steps[2].files[0].mode",
            message: "steps[2].files[0].mode must be octal permission bits such as 0644, not '0999'"
        ) {
            $0["steps"] = Self.steps(replacing: 2, with: ["files": [["path": "/x", "content": "", "mode": "0999"]]])
        },
        Broken("file without content", .missingField, field: "steps[2].files[0].content", message: "is missing") {
            $0["steps"] = Self.steps(replacing: 2, with: ["files": [["path": "/x"]]])
        },
        Broken("empty files list", .invalidField, field: "steps[2].files", message: "steps[2].files must not be empty")
        {
            $0["steps"] = Self.steps(replacing: 2, with: ["files": []])
        },
        Broken(
            "unknown key in a file", .unknownKey, field: "steps[2].files[0].owner",
            message: "steps[2].files[0].owner is not a known key"
        ) {
            $0["steps"] = Self.steps(
                replacing: 2, with: ["files": [["path": "/x", "content": "", "owner": "root"]]])
        },
        Broken(
            "check without command", .missingField, field: "verify[0].command", message: "verify[0].command is missing"
        ) {
            $0["verify"] = [["expect_exit": 0]]
        },
        Broken("check with an empty argv", .invalidField, field: "verify[0].command", message: "must not be empty") {
            $0["verify"] = [["command": []]]
        },
        Broken(
            "check with a numeric command", .invalidField, field: "verify[0].command", message: "must be a command line"
        ) {
            $0["verify"] = [["command": 5]]
        },
        Broken("check exit code out of range", .invalidField, field: "verify[0].expect_exit", message: "must be 0…255")
        {
            $0["verify"] = [["command": "true", "expect_exit": 256]]
        },
        Broken(
            "check with a broken regular expression", .invalidField, field: "verify[0].expect_output",
            message: "verify[0].expect_output is not a valid regular expression"
        ) {
            $0["verify"] = [["command": "true", "expect_output": "(unclosed"]]
        },
        Broken("check timeout out of range", .invalidField, field: "verify[0].timeout_s", message: "must be 1…600") {
            $0["verify"] = [["command": "true", "timeout_s": 601]]
        },
        Broken("unknown key in a check", .unknownKey, field: "verify[0].expect_stderr", message: "is not a known key") {
            $0["verify"] = [["command": "true", "expect_stderr": "x"]]
        },
    ]

    static func steps(replacing index: Int, with step: [String: Any]) -> [Any] {
        var steps = PackTestSupport.validObject()["steps"] as? [Any] ?? []
        steps[index] = step
        return steps
    }

    @Test("every invalid field is refused with an error naming the file and the field", arguments: broken)
    func refusesInvalid(_ broken: Broken) throws {
        var object = PackTestSupport.validObject()
        broken.change(&object)
        let directory = try PackTestSupport.directory(with: object)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = try #require(throws: PackError.self) { try PackCatalog.load(directory: directory) }
        #expect(error.code == broken.code)
        #expect(error.file == "sample.json")
        #expect(error.field == broken.field)
        #expect(error.message.hasPrefix("sample.json: \(broken.field)"), "\(error.message)")
        #expect(error.message.contains(broken.message), "\(error.message)")
    }

    @Test("text that is not JSON is refused naming the file")
    func refusesMalformedJSON() throws {
        let directory = try PackTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("{\"name\": ".utf8).write(to: URL(fileURLWithPath: directory + "/broken.json"))
        let error = try #require(throws: PackError.self) { try PackCatalog.load(directory: directory) }
        #expect(error.code == .malformed)
        #expect(error.message == "broken.json: is not valid JSON")
        let array = try #require(throws: PackError.self) {
            try PackManifest.parse(Data("[1]".utf8), source: "array.json")
        }
        #expect(array.message.hasPrefix("array.json: "))
    }

    @Test("a manifest built in code is checked like a file")
    func validatesManifestsBuiltInCode() throws {
        let good = PackManifest(
            name: "coded", description: "d", version: "2", steps: [.apt(packages: ["hello"])],
            verify: [PackCheck(command: .argv(["hello"]))], diskEstimateMB: 1)
        #expect(try good.validated() == good)
        var bad = good
        bad.steps = [.shell(PackShellStep(command: "true", timeoutSeconds: 7200))]
        let error = try #require(throws: PackError.self) { try bad.validated(source: "request body") }
        #expect(error.message == "request body: steps[0].shell.timeout_s must be 1…3600, not 7200")
    }

    @Test("apt and pip packages are collected in order, each once")
    func collectsPackages() throws {
        let manifest = PackManifest(
            name: "many", description: "d", version: "1",
            steps: [
                .apt(packages: ["git", "curl"]), .pip(packages: ["numpy"]), .apt(packages: ["curl", "jq"]),
                .pip(packages: ["numpy", "duckdb"]),
            ],
            verify: [PackCheck(command: .shell("true"))], diskEstimateMB: 1)
        #expect(manifest.aptPackages == ["git", "curl", "jq"])
        #expect(manifest.pipPackages == ["numpy", "duckdb"])
        #expect(manifest.virtualEnvironment() == "/opt/somnus/packs/many/venv")
        #expect(manifest.virtualEnvironment(root: "/tmp/r") == "/tmp/r/many/venv")
    }

    @Test("apt and pip steps take a timeout_s (default 1800 s), kept on a round trip and summed into the pack's")
    func packageTimeouts() throws {
        let json = """
            {"name":"slow","description":"d","version":"1","disk_estimate_mb":1,
             "steps":[{"apt":{"packages":["gcc"],"timeout_s":5400}},{"pip":{"packages":["duckdb"]}},
                      {"shell":{"command":"true","timeout_s":30}}],
             "verify":[{"command":"true","timeout_s":20}]}
            """
        let manifest = try PackManifest.parse(Data(json.utf8), source: "slow.json")
        #expect(manifest.steps[0] == .apt(packages: ["gcc"], timeoutSeconds: 5400))
        #expect(manifest.steps[1] == .pip(packages: ["duckdb"], timeoutSeconds: 1800))
        // apt-get update and install get 5400 s each; the venv 600 s and pip 1800 s; the shell step; the check.
        #expect(manifest.timeoutSeconds == 2 * 5400 + 600 + 1800 + 30 + 20)
        let encoded = String(decoding: try JSONEncoder().encode(manifest), as: UTF8.self)
        #expect(encoded.contains("\"timeout_s\":5400"))
        #expect(!encoded.contains("\"timeout_s\":1800"))
        #expect(try PackManifest.parse(Data(encoded.utf8), source: "again") == manifest)
    }

    @Test("expect_output is a regular expression searched in the output")
    func matchesOutput() {
        let check = PackCheck(command: .shell("x"), expectOutput: "^v1[89]\\.")
        #expect(check.outputMatches("v18.19.0\n"))
        #expect(!check.outputMatches("v20.1.0\n"))
        #expect(PackCheck(command: .shell("x")).outputMatches("anything"))
    }
}
