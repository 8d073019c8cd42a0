import AgentAPI
import AgentBasics
import AgentSystem
import Curl
import Foundation
import HTTPTypes
import Synchronization
import Testing

@testable import AgentCore
@testable import AgentJobs

/// One answer to `curl` run as `nobody`.
struct NobodyReply {
    var status: Int
    var body: Data

    func error() throws -> APIErrorBody.Detail {
        try JSONDecoder().decode(APIErrorBody.self, from: body).error
    }
}

extension AgentHarness {
    /// Sends a request over the unix socket with the real `curl` run as `nobody:nogroup` (no supplementary
    /// groups) through `setpriv`; the socket must be group `nogroup` (``AgentConnectionOptions/socketGroup``).
    func nobodyRequest(_ method: String, _ path: String, body: Data? = nil) async throws -> NobodyReply {
        var arguments = [
            "--reuid=nobody", "--regid=nogroup", "--clear-groups", "curl", "-s", "-S", "-w", "\n%{http_code}",
            "--unix-socket", endpoints.socketPath, "-X", method,
        ]
        if let body {
            arguments += [
                "-H", "Content-Type: application/json", "--data-binary", String(decoding: body, as: UTF8.self),
            ]
        }
        arguments.append("http://agent\(path)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = try await onThread {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }
        let text = String(decoding: data, as: UTF8.self)
        let newline = try #require(text.lastIndex(of: "\n"), "curl printed no status: \(text)")
        let status = try #require(Int(text[text.index(after: newline)...]), "curl printed no status: \(text)")
        return NobodyReply(status: status, body: Data(text[..<newline].utf8))
    }
}

/// The uid of `nobody` on this machine.
private let nobodyUID: UInt32 = ExecIdentity.entry(name: "nobody")?.uid ?? 65534

private let canSwitchUsers =
    getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") && ExecIdentity.entry(name: "nobody") != nil

@Suite(
    "Peer credentials on the unix socket", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: canSwitchUsers, "needs root, setpriv, curl and the nobody user"))
struct PeerCredentialsTests {
    static let connections = AgentConnectionOptions(socketGroup: "nogroup")

    @Test("A non-root peer's exec runs as that peer and it sees only its own jobs")
    func execAsPeer() async throws {
        try await AgentHarness.with(connections: Self.connections) { agent in
            let body = try JSONEncoder().encode(ExecRequest(argv: ["id", "-u"]))
            let started = try await agent.nobodyRequest("POST", AgentRoute.exec, body: body)
            #expect(started.status == 202, "\(String(decoding: started.body, as: UTF8.self))")
            let id = try JSONDecoder().decode(JobStartResponse.self, from: started.body).id
            var job: ExecJobResponse?
            for _ in 0..<100 {
                let reply = try await agent.nobodyRequest("GET", "\(AgentRoute.exec)/\(id)")
                #expect(reply.status == 200)
                let decoded = try JSONDecoder().decode(ExecJobResponse.self, from: reply.body)
                if decoded.state.isFinal {
                    job = decoded
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let finished = try #require(job)
            #expect(finished.state == .exited, "\(finished)")
            #expect(finished.stdout == "\(nobodyUID)\n")

            // Naming itself is allowed; naming anyone else is 403.
            let itself = try await agent.nobodyRequest(
                "POST", AgentRoute.exec, body: try JSONEncoder().encode(ExecRequest(argv: ["true"], user: "nobody")))
            #expect(itself.status == 202)
            let root = try await agent.nobodyRequest(
                "POST", AgentRoute.exec, body: try JSONEncoder().encode(ExecRequest(argv: ["true"], user: "root")))
            #expect(root.status == 403)
            #expect(
                try root.error()
                    == .init(
                        code: "forbidden",
                        message:
                            "user: a caller running as uid \(nobodyUID) may only run commands as itself, not 'root'"))

            // A root job is invisible to nobody.
            let rootJob = try await agent.startJob(ExecRequest(argv: ["true"]))
            let hidden = try await agent.nobodyRequest("GET", "\(AgentRoute.exec)/\(rootJob)")
            #expect(hidden.status == 404)
            #expect(try hidden.error().code == "not_found")
        }
    }

    @Test("Freeze, thaw, time, soft reboot and pack installs answer 403 forbidden to a non-root peer")
    func maintenanceForbidden() async throws {
        let freezer = RecordingFreezer(mounts: ["/"])
        try await AgentHarness.with(
            maintenance: AgentMaintenanceOptions(freezer: freezer, clockDriftThreshold: .seconds(3600)),
            connections: Self.connections
        ) { agent in
            let cases: [(String, String, String, String)] = [
                ("POST", AgentRoute.fsFreeze, #"{"timeout_s":5}"#, "freezing filesystems"),
                ("POST", AgentRoute.fsThaw, "{}", "thawing filesystems"),
                ("POST", AgentRoute.time, #"{"unix_ns":1700000000000000000}"#, "setting the clock"),
                ("POST", AgentRoute.softReboot, #"{"units":["x.service"]}"#, "restarting units"),
                ("POST", "\(AgentRoute.packs)/anything/install", "{}", "installing packs"),
            ]
            for (method, path, body, action) in cases {
                let reply = try await agent.nobodyRequest(method, path, body: Data(body.utf8))
                #expect(reply.status == 403, "\(path)")
                #expect(
                    try reply.error()
                        == .init(
                            code: "forbidden",
                            message: "\(action) is for root only; the caller runs as uid \(nobodyUID)"
                        ), "\(path)")
            }
            #expect(freezer.log.isEmpty)
            // Reading stays open to everyone who may connect.
            #expect(try await agent.nobodyRequest("GET", AgentRoute.healthLive).status == 200)
            // Root on the same socket may freeze.
            let frozen = try await agent.unixRequest(
                AgentRoute.fsFreeze, method: .post, body: Data(#"{"timeout_s":5}"#.utf8))
            #expect(frozen.status == .ok)
            #expect(try await agent.unixRequest(AgentRoute.fsThaw, method: .post).status == .ok)
        }
    }

    @Test("Root peers and the host may run a command as another user; an unknown user is 400 naming it")
    func execAsUser() async throws {
        try await AgentHarness.with(connections: Self.connections) { agent in
            let asNobody = try await agent.startJob(ExecRequest(argv: ["id", "-u"], user: "nobody"))
            #expect(try await agent.waitForJob(asNobody).stdout == "\(nobodyUID)\n")
            let byUID = try await agent.startJob(ExecRequest(argv: ["id", "-u"], user: "\(nobodyUID)"))
            #expect(try await agent.waitForJob(byUID).stdout == "\(nobodyUID)\n")
            let asRoot = try await agent.startJob(ExecRequest(argv: ["id", "-u"]))
            #expect(try await agent.waitForJob(asRoot).stdout == "0\n")

            let unixBody = try JSONEncoder().encode(ExecRequest(argv: ["id", "-un"], user: "nobody"))
            let unix = try await agent.unixRequest(AgentRoute.exec, method: .post, body: unixBody)
            #expect(unix.status == .accepted)
            let unixJob = try await agent.waitForJob(try unix.decode(JobStartResponse.self).id)
            #expect(unixJob.stdout == "nobody\n")

            let unknown = try await agent.request(
                .post, AgentRoute.exec,
                body: try JSONEncoder().encode(ExecRequest(argv: ["true"], user: "no-such-user-17")))
            #expect(unknown.status == .badRequest)
            #expect(try unknown.error() == .init(code: "bad_request", message: "user: no user named 'no-such-user-17'"))
        }
    }

    @Test("A user's job enters its working directory as that user: one below a directory only root may enter fails")
    func directoryAsUser() async throws {
        try await AgentHarness.with(connections: Self.connections) { agent in
            let closed = agent.directory.appendingPathComponent("root-only")
            let inner = closed.appendingPathComponent("open")
            try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: closed.path)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: inner.path)
            let asNobody = try await agent.waitForJob(
                try await agent.startJob(ExecRequest(argv: ["pwd"], cwd: inner.path, user: "nobody")))
            #expect(asNobody.exitCode != 0)
            #expect(asNobody.stdout.isEmpty)
            let asRoot = try await agent.waitForJob(
                try await agent.startJob(ExecRequest(argv: ["pwd"], cwd: inner.path)))
            #expect(asRoot.stdout == inner.path + "\n")
        }
    }

    @Test("A caller's environment reaches only the command, never the wrappers that run as root")
    func environmentAfterSwitch() async throws {
        try await AgentHarness.with(connections: Self.connections) { agent in
            let id = try await agent.startJob(
                ExecRequest(
                    shell: "echo \"$MARKER\"; id -u", env: ["MARKER": "seen", "LD_PRELOAD": "/nonexistent-17.so"],
                    user: "nobody"))
            let job = try await agent.waitForJob(id)
            #expect(job.stdout == "seen\n\(nobodyUID)\n")
            // ld.so complains once per process that got LD_PRELOAD: the shell and id, both as nobody; setpriv
            // and env (root, before the switch) never saw it.
            let complaints = job.stderr.components(separatedBy: "nonexistent-17.so").count - 1
            #expect(complaints == 2, "\(job.stderr)")
        }
    }

    @Test("ExecIdentity: a bare uid without a passwd entry runs with gid = uid and no groups")
    func bareUID() throws {
        let identity = try ExecIdentity.lookUp("4000017")
        #expect(identity == ExecIdentity(uid: 4_000_017, gid: 4_000_017, name: nil, home: nil))
        #expect(
            try identity.setprivPrefix().dropFirst() == ["--reuid=4000017", "--regid=4000017", "--clear-groups", "--"])
        let forbidden = try #require(throws: AgentError.self) {
            try ExecIdentity.forRequest(user: nil, caller: .unidentified)
        }
        #expect(forbidden.code == .forbidden)
    }
}
