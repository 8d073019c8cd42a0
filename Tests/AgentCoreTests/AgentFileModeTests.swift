import AgentAPI
import AgentJobs
import AgentSystem
import Curl
import Foundation
import Glibc
import HTTPTypes
import Synchronization
import Testing

@testable import AgentCore

/// `stat` of a path: its permission bits and group, or `nil` when it does not exist.
func fileMode(_ path: String) -> (mode: UInt32, gid: UInt32)? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return (UInt32(info.st_mode) & 0o7777, UInt32(info.st_gid))
}

@Suite("Agent file modes", .timeLimit(.minutes(2)))
struct AgentFileModeTests {
    @Test("The data directory is 0700, its SQLite files 0600, the socket 0660 in the configured group")
    func modes() async throws {
        let nogroup = try #require(AgentServer.groupID(named: "nogroup"))
        try await AgentHarness.with(connections: AgentConnectionOptions(socketGroup: "nogroup")) { agent in
            let data = agent.directory.appendingPathComponent("data").path
            // The pack record is opened on first use.
            #expect(try await agent.request(.get, AgentRoute.packs).status == .ok)
            #expect(fileMode(data)?.mode == 0o700)
            for name in ["memory.sqlite", "memory.sqlite-wal", "memory.sqlite-shm", "memory.key", "packs.sqlite"] {
                let mode = try #require(fileMode("\(data)/\(name)"), "\(name) is missing")
                #expect(mode.mode == 0o600, "\(name) is \(String(mode.mode, radix: 8))")
            }
            let socket = try #require(fileMode(agent.endpoints.socketPath))
            #expect(socket.mode == 0o660)
            #expect(socket.gid == UInt32(nogroup))
        }
    }

    @Test("Without the group the socket stays 0660 in the agent's own group; an open data directory is made 0700")
    func noGroup() async throws {
        try await AgentHarness.with(connections: AgentConnectionOptions(socketGroup: "no-such-group-17")) { agent in
            let socket = try #require(fileMode(agent.endpoints.socketPath))
            #expect(socket.mode == 0o660)
            #expect(socket.gid == UInt32(getegid()))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("modes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try AgentServer.makePrivateDirectory(directory.path)
        #expect(fileMode(directory.path)?.mode == 0o700)
    }

    @Test("An existing database created 0644 is made 0600 with its -wal and -shm files")
    func existingDatabase() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("modes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("packs.sqlite").path
        for suffix in ["", "-wal", "-shm"] {
            #expect(
                FileManager.default.createFile(
                    atPath: path + suffix, contents: Data(), attributes: [.posixPermissions: 0o644]))
        }
        PackStore.preparePrivateDatabase(path)
        for suffix in ["", "-wal", "-shm"] { #expect(fileMode(path + suffix)?.mode == 0o600) }
    }
}

@Suite("Agent while frozen", .timeLimit(.minutes(2)))
struct FrozenWritesTests {
    @Test("Start-up thaws what a previous agent left frozen and records it")
    func startUpThaw() async throws {
        let freezer = RecordingFreezer(mounts: ["/srv/data", "/"], frozen: ["/"])
        try await AgentHarness.with(maintenance: AgentMaintenanceOptions(freezer: freezer)) { agent in
            #expect(freezer.log == ["thaw /"])
            #expect(!freezer.isFrozen("/"))
            let events = try await agent.get(AgentRoute.events, as: EventsResponse.self).events
            let thawed = try #require(events.first { $0.kind == AgentEventKind.fsThawed })
            #expect(thawed.metadata["reason"] == "start-up")
            #expect(thawed.metadata["mount_points"] == "/")
        }
    }

    @Test("Memory and pack writes answer 409 while frozen, reads still answer, and writes work after the thaw")
    func writesHeld() async throws {
        let freezer = RecordingFreezer(mounts: ["/"])
        try await AgentHarness.with(maintenance: AgentMaintenanceOptions(freezer: freezer)) { agent in
            let freeze = try JSONEncoder().encode(FreezeRequest(timeoutSeconds: 30))
            #expect(try await agent.request(.post, AgentRoute.fsFreeze, body: freeze).status == .ok)
            let memory = Data(#"{"namespace":"default","content":"the build cache lives in /srv/cache"}"#.utf8)
            let held = try await agent.request(.post, "/v1/memories", body: memory)
            #expect(held.status == .conflict)
            #expect(
                try held.error()
                    == .init(
                        code: "conflict",
                        message: "filesystems are frozen: POST /v1/memories writes to disk; retry after the thaw"))
            let deleteHeld = try await agent.request(.delete, "/v1/memories/abc?namespace=default")
            #expect(deleteHeld.status == .conflict)
            let packHeld = try await agent.unixRequest(
                "\(AgentRoute.packs)/x/install", method: .post, body: Data("{}".utf8))
            #expect(packHeld.status == .conflict)
            #expect(try packHeld.error().code == "conflict")
            #expect(try await agent.request(.get, "/v1/memories/stats").status == .ok)
            #expect(try await agent.request(.get, AgentRoute.packs).status == .ok)
            #expect(try await agent.request(.post, AgentRoute.fsThaw).status == .ok)
            #expect(try await agent.request(.post, "/v1/memories", body: memory).status == .created)
        }
    }
}
