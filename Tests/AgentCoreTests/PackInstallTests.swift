import AgentAPI
import AgentBasics
import AgentJobs
import AgentSystem
import Foundation
import HTTPTypes
import Logging
import Packs
import Testing

@testable import AgentCore

#if canImport(Glibc)
    import Glibc
#endif

/// A running agent whose pack catalog is `Tests/PacksTests/Fixtures` and whose pack root is a temporary directory.
struct PackAgent {
    let agent: AgentHarness
    /// Where `files` steps write and venvs go.
    let root: String

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("PacksTests/Fixtures").path

    static func with(_ body: @Sendable (PackAgent) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "agent-packs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("agent.token").path
        try (AgentHarness.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let root = directory.appendingPathComponent("root").path
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0),
            tokenFile: tokenFile,
            socketPath: directory.appendingPathComponent("run/agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path,
            journal: false,
            monitorInterval: .seconds(5),
            packsDirectory: fixtures,
            packsRoot: root
        )
        var logger = Logger(label: "agent-pack-test")
        logger.logLevel = .warning
        let server = AgentServer(
            configuration: configuration, logger: logger, execKillGrace: .seconds(1), handleSignals: false,
            maintenance: AgentMaintenanceOptions(
                freezer: IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts"),
                systemctlPath: "/nonexistent/systemctl", clockDriftThreshold: .seconds(3600)))
        let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0) } }
            var iterator = ready.makeAsyncIterator()
            let endpoints = try #require(await iterator.next())
            let agent = PackAgent(agent: AgentHarness(endpoints: endpoints, directory: directory), root: root)
            do {
                try await body(agent)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// `POST /v1/packs/{name}/install` with `request` as the body.
    func install(_ name: String, _ request: PackInstallRequest = PackInstallRequest()) async throws
        -> AgentHarness.Reply
    {
        try await agent.request(.post, AgentRoute.packInstall(name), body: try JSONEncoder().encode(request))
    }

    /// Starts an install that must be accepted and returns the job's id.
    func start(_ name: String, _ request: PackInstallRequest = PackInstallRequest()) async throws -> String {
        let reply = try await install(name, request)
        try #require(reply.status == .accepted, "\(String(decoding: reply.body, as: UTF8.self))")
        return try reply.decode(JobStartResponse.self).id
    }

    /// Polls a job until it finishes; every answer seen goes to `seen`.
    func wait(_ id: String, timeout: Duration = .seconds(120)) async throws -> (PackJobResponse, [PackJobResponse]) {
        let deadline = ContinuousClock.now + timeout
        var seen: [PackJobResponse] = []
        while true {
            let job = try await agent.get(AgentRoute.packJob(id), as: PackJobResponse.self)
            seen.append(job)
            if job.state.isFinal { return (job, seen) }
            try #require(ContinuousClock.now < deadline, "pack job \(id) still running: \(job)")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func list() async throws -> PacksResponse {
        try await agent.get(AgentRoute.packs, as: PacksResponse.self)
    }

    /// A one-step shell pack built in code.
    static func shellPack(
        _ name: String, command: String, timeout: Int = 30, verify: [PackCheck] = [PackCheck(command: .argv(["true"]))],
        requires: [String] = []
    ) -> PackManifest {
        PackManifest(
            name: name, description: "test pack \(name)", version: "1.0.0", requires: requires,
            steps: [.shell(PackShellStep(command: command, timeoutSeconds: timeout))], verify: verify,
            diskEstimateMB: 0)
    }
}

@Suite("Pack installs through the agent", .timeLimit(.minutes(5)))
struct PackInstallTests {
    @Test(
        "test_files installs for real under the pack root: progress and log seen, verified, recorded; again is a no-op")
    func installsTestFiles() async throws {
        try await PackAgent.with { packs in
            let id = try await packs.start("test_files")
            let (job, seen) = try await packs.wait(id)
            #expect(job.state == .succeeded, "\(job)")
            #expect(job.pack == "test_files")
            #expect(job.version == "1.0.0")
            #expect(job.phase == .done)
            #expect(job.stepCount == 2)
            #expect(job.stepIndex == 1)
            #expect(job.stepDescription.hasPrefix("shell: echo 'step two ran'"))
            #expect(!job.alreadyInstalled)
            #expect(job.failedStep == nil && job.error == nil)
            #expect(job.finishedAt != nil)
            #expect(seen.allSatisfy { $0.stepCount == 2 })
            #expect(
                job.log.contains("==> step 1/2: files: /etc/somnus-test/hello.txt /usr/local/bin/somnus-test-hello"))
            #expect(job.log.contains { $0.hasPrefix("==> step 2/2: shell: ") })
            #expect(job.log.contains("step two ran"))
            #expect(job.log.contains("==> verify: 3 checks"))
            #expect(job.log.last == "test_files 1.0.0 installed")
            #expect(job.verify.count == 3)
            #expect(job.verify.map(\.passed) == [true, true, true], "\(job.verify)")
            #expect(job.verify[1].output == "hello-tool")
            #expect(job.verify[2].exitCode == 4)

            let hello = packs.root + "/etc/somnus-test/hello.txt"
            #expect(try String(contentsOfFile: hello, encoding: .utf8) == "hello from test_files\nappended\n")
            let helloMode = try FileManager.default.attributesOfItem(atPath: hello)[.posixPermissions] as? Int
            #expect(helloMode == 0o640)
            let tool = packs.root + "/usr/local/bin/somnus-test-hello"
            let toolMode = try FileManager.default.attributesOfItem(atPath: tool)[.posixPermissions] as? Int
            #expect(toolMode == 0o755)
            #expect(!FileManager.default.fileExists(atPath: "/etc/somnus-test/hello.txt"))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: packs.root + "/etc/somnus-test")
            #expect(leftovers == ["hello.txt"])

            let paged = try await packs.agent.get(AgentRoute.packJob(id) + "?offset=2", as: PackJobResponse.self)
            #expect(paged.logOffset == 2)
            #expect(paged.log == Array(job.log.dropFirst(2)))
            #expect(paged.nextLogOffset == job.log.count)
            let end = try await packs.agent.get(AgentRoute.packJob(id) + "?offset=100000", as: PackJobResponse.self)
            #expect(end.log.isEmpty && end.logOffset == job.log.count)

            let list = try await packs.list()
            #expect(list.known.map(\.name) == ["test_apt_small", "test_failing", "test_files", "test_vm_dies"])
            #expect(list.catalogError == nil)
            let installed = try #require(list.installed.first { $0.name == "test_files" })
            #expect(installed.version == "1.0.0")
            #expect(installed.result == .succeeded)
            #expect(abs(installed.installedAt - (job.finishedAt ?? 0)) < 1)
            #expect(FileManager.default.fileExists(atPath: packs.agent.directory.path + "/data/packs.sqlite"))

            let again = try await packs.wait(try await packs.start("test_files")).0
            #expect(again.state == .succeeded)
            #expect(again.alreadyInstalled)
            #expect(again.log == ["test_files 1.0.0 is already installed; nothing to do"])
            #expect(again.verify.isEmpty)
            #expect(try await packs.list().installed.filter { $0.name == "test_files" }.count == 1)

            let events = try await packs.agent.get(AgentRoute.events, as: EventsResponse.self)
            #expect(events.events.contains { $0.kind == AgentEventKind.packFinished && $0.metadata["job_id"] == id })
        }
    }

    @Test("a failing step fails the job naming the step and its output; later steps do not run")
    func failingPack() async throws {
        try await PackAgent.with { packs in
            let (job, _) = try await packs.wait(try await packs.start("test_failing"))
            #expect(job.state == .failed)
            #expect(job.failedStep == 1)
            #expect(job.stepIndex == 1)
            #expect(
                job.error
                    == "step 2 (shell: echo 'about to fail'; echo 'deliberate failure' >&2; exit 3) exited with status 3"
            )
            let output = try #require(job.failureOutput)
            #expect(output.contains("about to fail"))
            #expect(output.contains("deliberate failure"))
            #expect(job.verify.isEmpty)
            #expect(job.phase == .done)
            #expect(FileManager.default.fileExists(atPath: packs.root + "/etc/somnus-test/failing-marker.txt"))
            #expect(!FileManager.default.fileExists(atPath: packs.root + "/etc/somnus-test/never.txt"))
            let installed = try #require(try await packs.list().installed.first { $0.name == "test_failing" })
            #expect(installed.result == .failed)
            #expect(installed.failedStep == 1)
            #expect(installed.error == job.error)
            #expect(installed.outputTail?.contains("deliberate failure") == true)
        }
    }

    @Test("a failing verify check fails the job naming the check; every check still runs")
    func failingVerify() async throws {
        try await PackAgent.with { packs in
            let manifest = PackAgent.shellPack(
                "inline_verify", command: "true",
                verify: [
                    PackCheck(command: .shell("echo version 1.2"), expectOutput: "version 2\\."),
                    PackCheck(command: .argv(["false"])),
                    PackCheck(command: .argv(["true"])),
                ])
            let (job, _) = try await packs.wait(
                try await packs.start("inline_verify", PackInstallRequest(manifest: manifest)))
            #expect(job.state == .failed)
            #expect(job.failedStep == nil)
            #expect(job.error == "verify check 1 (echo version 1.2) output does not match /version 2\\./")
            #expect(job.failureOutput == "version 1.2")
            #expect(job.verify.map(\.passed) == [false, false, true])
            #expect(job.verify[1].problem == "exited with status 1, expected status 0")
            #expect(job.verify[1].exitCode == 1)
        }
    }

    @Test("a shell step past its timeout is killed with its process group and fails saying so")
    func shellTimeout() async throws {
        try await PackAgent.with { packs in
            let pidFile = packs.agent.directory.path + "/grandchild.pid"
            let manifest = PackAgent.shellPack(
                "inline_slow", command: "sleep 60 & echo $! > '\(pidFile)'; wait", timeout: 1)
            let started = ContinuousClock.now
            let (job, _) = try await packs.wait(
                try await packs.start("inline_slow", PackInstallRequest(manifest: manifest)))
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(job.state == .failed)
            #expect(job.error?.hasSuffix(") timed out after 1 s") == true, "\(job.error ?? "")")
            let pid = try #require(
                Int32(
                    try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                ))
            let deadline = ContinuousClock.now + .seconds(10)
            while kill(pid, 0) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(kill(pid, 0) != 0, "the step's background process survived")
        }
    }

    @Test("one install at a time: a second one is refused with 409 while the first runs; DELETE cancels")
    func oneAtATimeAndCancel() async throws {
        try await PackAgent.with { packs in
            let slow = PackAgent.shellPack("inline_wait", command: "echo waiting; sleep 30", timeout: 60)
            let id = try await packs.start("inline_wait", PackInstallRequest(manifest: slow))
            let second = try await packs.install("test_files")
            #expect(second.status == .conflict)
            #expect(try second.error().code == "conflict")
            #expect(
                try second.error().message == "pack job \(id) (inline_wait) is still running; one install at a time")
            let deadline = ContinuousClock.now + .seconds(30)
            while try await packs.agent.get(AgentRoute.packJob(id), as: PackJobResponse.self).log.contains("waiting")
                == false
            {
                try #require(ContinuousClock.now < deadline)
                try await Task.sleep(for: .milliseconds(50))
            }
            let cancel = try await packs.agent.request(.delete, AgentRoute.packJob(id))
            #expect(cancel.status == .accepted)
            let (job, _) = try await packs.wait(id, timeout: .seconds(30))
            #expect(job.state == .cancelled)
            #expect(job.error == "step 1 (shell: echo waiting; sleep 30) was cancelled")
            #expect(try await packs.list().installed.first { $0.name == "inline_wait" }?.result == .cancelled)
        }
    }

    @Test("a pip step installs into the pack's own venv under the pack root, from the cache only")
    func pipUsesVenvAndCache() async throws {
        try await PackAgent.with { packs in
            let cache = packs.agent.directory.path + "/cache"
            try FileManager.default.createDirectory(atPath: cache + "/wheels", withIntermediateDirectories: true)
            let manifest = PackManifest(
                name: "inline_pip", description: "d", version: "1", steps: [.pip(packages: ["somnus-no-such-package"])],
                verify: [PackCheck(command: .argv(["true"]))], diskEstimateMB: 0)
            let request = PackInstallRequest(manifest: manifest, cacheURL: "file://\(cache)/")
            let (job, _) = try await packs.wait(try await packs.start("inline_pip", request), timeout: .seconds(240))
            let venv = packs.root + "/opt/somnus/packs/inline_pip/venv"
            #expect(job.state == .failed)
            #expect(job.error == "step 1 (pip: somnus-no-such-package) failed: \(venv)/bin/python exited with status 1")
            #expect(job.log.contains { $0.hasPrefix("$ python3 -m venv --system-site-packages \(venv)") })
            #expect(job.log.contains { $0.contains("--no-index --find-links file://\(cache)/wheels/") })
            #expect(job.failureOutput?.contains("somnus-no-such-package") == true)
            #expect(FileManager.default.isExecutableFile(atPath: venv + "/bin/python"))
        }
    }

    @Test("unknown packs are 404 listing the known ones; unknown jobs are 404")
    func unknownPack() async throws {
        try await PackAgent.with { packs in
            let reply = try await packs.install("no_such_pack")
            #expect(reply.status == .notFound)
            let error = try reply.error()
            #expect(error.code == "not_found")
            #expect(
                error.message
                    == "unknown pack 'no_such_pack' (known: test_apt_small, test_failing, test_files, test_vm_dies) in \(PackAgent.fixtures)"
            )
            let job = try await packs.agent.request(.get, AgentRoute.packJob("nope"))
            #expect(job.status == .notFound)
            #expect(try job.error().message == "no pack job with id 'nope'")
        }
    }

    @Test("malformed bodies and bad names are 400 naming the field")
    func badRequests() async throws {
        try await PackAgent.with { packs in
            let notJSON = try await packs.agent.request(
                .post, AgentRoute.packInstall("test_files"), body: Data("{oops".utf8))
            #expect(notJSON.status == .badRequest)
            #expect(try notJSON.error().message == "request body: is not valid JSON")

            var manifest = PackAgent.shellPack("inline_bad", command: "true")
            manifest.steps = [.shell(PackShellStep(command: "true", timeoutSeconds: 0))]
            let badField = try await packs.install("inline_bad", PackInstallRequest(manifest: manifest))
            #expect(badField.status == .badRequest)
            #expect(try badField.error().code == "bad_request")
            #expect(
                try badField.error().message == "request body: manifest.steps[0].shell.timeout_s must be 1…3600, not 0")

            let unknownKey = try await packs.agent.request(
                .post, AgentRoute.packInstall("x"),
                body: Data(
                    #"{"manifest":{"name":"x","description":"d","version":"1","steps":[],"verify":[],"disk_estimate_mb":0,"extra":1}}"#
                        .utf8))
            #expect(unknownKey.status == .badRequest)
            #expect(try unknownKey.error().message.hasPrefix("request body: manifest.extra is not a known key"))

            let mismatch = try await packs.install(
                "other_name", PackInstallRequest(manifest: manifest.with(timeout: 5)))
            #expect(mismatch.status == .badRequest)
            #expect(
                try mismatch.error().message == "manifest.name: 'inline_bad' differs from the path's pack 'other_name'")

            let badName = try await packs.install("Bad-Name")
            #expect(badName.status == .badRequest)
            #expect(try badName.error().message == "name: 'Bad-Name' is not a pack name ([a-z0-9_]+)")

            let badCache = try await packs.install("test_files", PackInstallRequest(cacheURL: "ftp://host/x"))
            #expect(badCache.status == .badRequest)
            #expect(
                try badCache.error().message
                    == "cache_url: must be an http://, https:// or file:// URL, not 'ftp://host/x'")

            let requires = try await packs.install(
                "inline_needs",
                PackInstallRequest(
                    manifest: PackAgent.shellPack("inline_needs", command: "true", requires: ["test_files"])))
            #expect(requires.status == .conflict)
            #expect(
                try requires.error().message
                    == "pack 'inline_needs' requires 'test_files', which is not installed; install it first")

            let empty = try await packs.agent.request(.post, AgentRoute.packInstall("test_files"), body: Data())
            #expect(empty.status == .accepted)
            _ = try await packs.wait(try empty.decode(JobStartResponse.self).id)
        }
    }

    @Test("packs_dir and packs_root are read from the configuration file and must be absolute")
    func configuration() throws {
        let parsed = try AgentConfiguration.parse(Data(#"{"packs_dir":"/srv/packs","packs_root":"/tmp/r"}"#.utf8))
        #expect(parsed.packsDirectory == "/srv/packs")
        #expect(parsed.packsRoot == "/tmp/r")
        #expect(AgentConfiguration().packsDirectory == "/etc/somnus/packs")
        #expect(AgentConfiguration().packsRoot == "/")
        let error = try #require(throws: AgentError.self) {
            try AgentConfiguration.parse(Data(#"{"packs_dir":"packs"}"#.utf8))
        }
        #expect(error.message == "packs_dir: must be an absolute path, not 'packs'")
        let type = try #require(throws: AgentError.self) {
            try AgentConfiguration.parse(Data(#"{"packs_root":5}"#.utf8))
        }
        #expect(type.message == "packs_root: must be a string")
        #expect(try AgentConfiguration.parse(Data(parsed.jsonText().utf8)) == parsed)
    }
}

extension PackManifest {
    fileprivate func with(timeout: Int) -> PackManifest {
        var copy = self
        copy.steps = [.shell(PackShellStep(command: "true", timeoutSeconds: timeout))]
        return copy
    }
}

/// A tiny wheel built by the tests, and the hashed requirement line pinning it.
enum TinyWheel {
    static let file = "somnus_tiny-1.0-py3-none-any.whl"

    /// Writes `somnus_tiny-1.0-py3-none-any.whl` (a module `somnus_tiny`) into `directory` with Python's `zipfile`.
    static func build(in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                z.writestr("somnus_tiny/__init__.py", "VALUE = 42\\n")
                z.writestr("somnus_tiny-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: somnus-tiny\\nVersion: 1.0\\n")
                z.writestr("somnus_tiny-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: somnus-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
                z.writestr("somnus_tiny-1.0.dist-info/RECORD", "somnus_tiny/__init__.py,,\\nsomnus_tiny-1.0.dist-info/METADATA,,\\nsomnus_tiny-1.0.dist-info/WHEEL,,\\nsomnus_tiny-1.0.dist-info/RECORD,,\\n")
            """
        let path = directory + "/" + file
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "cannot build \(path)")
        return path
    }

    /// `somnus_tiny==1.0 --hash=sha256:HEX` with the hash of the file at `path` (by `sha256sum`).
    static func pin(file path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let hash = try #require(output.split(separator: " ").first.map(String.init))
        try #require(hash.count == 64, "sha256sum: \(output)")
        return "somnus_tiny==1.0 --hash=sha256:\(hash)"
    }

    static func pack(_ name: String) -> PackManifest {
        PackManifest(
            name: name, description: "d", version: "1", steps: [.pip(packages: ["somnus-tiny"])],
            // Through sh, so that `python` is looked up in the check's PATH (the pack's venv first).
            verify: [
                PackCheck(command: .argv(["sh", "-c", "python -c 'import somnus_tiny; print(somnus_tiny.VALUE)'"]))
            ],
            diskEstimateMB: 0)
    }
}

@Suite("Pack cache integrity in the agent: hashed pip installs, the signed apt source", .timeLimit(.minutes(5)))
struct PackIntegrityTests {
    @Test(
        "pip installs from the host's hashes with --require-hashes; a wheel whose hash differs is refused by pip; the requirements file is removed either way"
    )
    func pipRequiresHashes() async throws {
        try await PackAgent.with { packs in
            let cache = packs.agent.directory.path + "/cache"
            let wheel = try TinyWheel.build(in: cache + "/wheels")
            let good = try TinyWheel.pin(file: wheel)

            let accepted = PackInstallRequest(
                manifest: TinyWheel.pack("tiny_good"), cacheURL: "file://\(cache)", pipRequirements: [[good]])
            let (job, _) = try await packs.wait(try await packs.start("tiny_good", accepted), timeout: .seconds(240))
            #expect(job.state == .succeeded, "\(job)")
            let requirements = packs.root + "/opt/somnus/packs/tiny_good/.requirements-step1.txt"
            #expect(
                job.log.contains { $0.contains("--require-hashes --only-binary=:all: -r \(requirements)") },
                "\(job.log)")
            #expect(job.verify.first?.output == "42")
            #expect(!FileManager.default.fileExists(atPath: requirements))

            // The file served is not the one the host hashed.
            let other = packs.agent.directory.path + "/other.whl"
            try Data("another wheel".utf8).write(to: URL(fileURLWithPath: other))
            let tampered = try TinyWheel.pin(file: other)
            let refused = PackInstallRequest(
                manifest: TinyWheel.pack("tiny_bad"), cacheURL: "file://\(cache)", pipRequirements: [[tampered]])
            let (bad, _) = try await packs.wait(try await packs.start("tiny_bad", refused), timeout: .seconds(240))
            #expect(bad.state == .failed)
            #expect(bad.failedStep == 0)
            #expect(bad.log.contains { $0.contains("THESE PACKAGES DO NOT MATCH THE HASHES") }, "\(bad.log)")
            #expect(bad.log.contains { $0.contains("Expected sha256") }, "\(bad.log)")
            #expect(
                !FileManager.default.fileExists(
                    atPath: packs.root + "/opt/somnus/packs/tiny_bad/.requirements-step1.txt"))
            #expect(
                !FileManager.default.fileExists(
                    atPath: packs.root + "/opt/somnus/packs/tiny_bad/venv/lib/python3.11/site-packages/somnus_tiny"))
        }
    }

    @Test("pip_requirements lines other than 'name==version --hash=sha256:HEX', or one list per pip step, are 400")
    func badPipRequirements() async throws {
        try await PackAgent.with { packs in
            let hash = "--hash=sha256:" + String(repeating: "a", count: 64)
            let cases: [([[String]], String)] = [
                (
                    [["--index-url http://evil.invalid/simple"]],
                    "pip_requirements[0]: '--index-url http://evil.invalid/simple' is not 'name==version --hash=sha256:HEX'"
                ),
                (
                    [["somnus_tiny==1.0"]],
                    "pip_requirements[0]: 'somnus_tiny==1.0' is not 'name==version --hash=sha256:HEX'"
                ),
                (
                    [["somnus_tiny>=1.0 \(hash)"]],
                    "pip_requirements[0]: 'somnus_tiny>=1.0 \(hash)' is not 'name==version --hash=sha256:HEX'"
                ),
                (
                    [["somnus_tiny==1.0 \(hash) -e git+https://x"]],
                    "pip_requirements[0]: 'somnus_tiny==1.0 \(hash) -e git+https://x' is not 'name==version --hash=sha256:HEX'"
                ),
                (
                    [["somnus_tiny==1.0 --hash=sha256:ABC"]],
                    "pip_requirements[0]: 'somnus_tiny==1.0 --hash=sha256:ABC' is not 'name==version --hash=sha256:HEX'"
                ),
                ([], "pip_requirements: 0 lists for pack 'tiny_req', which has 1 pip steps"),
                ([[]], "pip_requirements[0]: empty"),
            ]
            for (lists, message) in cases {
                let reply = try await packs.install(
                    "tiny_req", PackInstallRequest(manifest: TinyWheel.pack("tiny_req"), pipRequirements: lists))
                #expect(reply.status == .badRequest)
                #expect(try reply.error().message == message)
            }
            #expect(PackInstallJob.isPinnedRequirement("somnus_tiny==1.0 \(hash) \(hash)"))
            #expect(PackInstallJob.isPinnedRequirement("torch==2.1.0+cpu \(hash)"))
        }
    }

    @Test(
        "the cache's apt source is signed-by the deployed key, never trusted=yes, and removed after the step; no key, no source; a stale one is removed"
    )
    func aptSourceSignedAndRemoved() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pack-apt-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for sub in ["etc/sources.list.d", "apt/state/lists/partial", "apt/cache/archives/partial", "data", "keys"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        FileManager.default.createFile(atPath: directory + "/apt/state/status", contents: Data())
        var settings = PackInstallSettings(root: directory + "/root", killGrace: .seconds(1))
        settings.aptSourcesFile = directory + "/etc/sources.list.d/somnus-pack-cache.list"
        settings.aptKeyring = directory + "/keys/pack-cache.gpg"
        settings.aptOptions = [
            "-o", "Dir::State=\(directory)/apt/state", "-o", "Dir::State::status=\(directory)/apt/state/status",
            "-o", "Dir::Cache=\(directory)/apt/cache", "-o", "Debug::NoLocking=true",
        ]
        let store = PackStore(dataDirectory: directory + "/data")
        let manifest = PackManifest(
            name: "tiny_apt", description: "d", version: "1", steps: [.apt(packages: ["somnus-tiny"])],
            verify: [PackCheck(command: .argv(["true"]))], diskEstimateMB: 0)
        let cacheURL = "file://\(directory)/no-cache-here"

        func run() async throws -> PackJobResponse {
            try await JobRunnerService.withRunning { runner, _ in
                let job = try PackInstallJob.start(
                    runner: runner, manifest: manifest, cacheURL: cacheURL, settings: settings, store: store)
                let deadline = ContinuousClock.now + .seconds(120)
                while !job.isFinished {
                    try #require(ContinuousClock.now < deadline, "pack job still running")
                    try await Task.sleep(for: .milliseconds(50))
                }
                return job.response(from: 0)
            }
        }

        // No key installed: the step fails before any source is written, and one left by an earlier agent is gone.
        try Data("deb [trusted=yes] http://stale.invalid/apt ./\n".utf8).write(
            to: URL(fileURLWithPath: settings.aptSourcesFile))
        let missing = try await run()
        #expect(missing.state == .failed)
        #expect(
            missing.error
                == "step 1 (apt: somnus-tiny) failed: the host's pack-cache key \(settings.aptKeyring) is missing; "
                + "redeploy the agent (`somnus agent deploy --force`) to install it")
        #expect(!FileManager.default.fileExists(atPath: settings.aptSourcesFile))

        // With the key, the source names it; apt fails on the unreachable cache and the source is removed.
        FileManager.default.createFile(atPath: settings.aptKeyring, contents: Data("key".utf8))
        let failed = try await run()
        #expect(failed.state == .failed)
        #expect(
            failed.log.contains(
                "apt source: deb [signed-by=\(settings.aptKeyring)] \(cacheURL)/apt ./ (only this source, removed after the step)"
            ), "\(failed.log)")
        #expect(!failed.log.contains { $0.contains("trusted=yes") })
        #expect(
            failed.log.contains { $0.hasPrefix("$ apt-get update --error-on=any -o Dir::State=\(directory)/apt/state") }
        )
        #expect(
            failed.error?.hasPrefix("step 1 (apt: somnus-tiny) failed: apt-get exited with status 100") == true,
            "\(failed)")
        #expect(!FileManager.default.fileExists(atPath: settings.aptSourcesFile))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/etc/sources.list.d").isEmpty)
    }
}
