import Foundation
import SSH
import SSHTestSupport
import Testing

@Suite("SSH file transfer over SFTP", .timeLimit(.minutes(2)))
struct SSHSFTPTests {
    private func permissions(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }

    private func leftovers(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
    }

    @Test("Uploading bytes sets the mode, writes the content and leaves no temporary file")
    func uploadBytes() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let target = server.directory + "/out"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let path = target + "/agent.bin"

        try await session.upload(Array("first version\n".utf8), to: path, mode: 0o750)
        #expect(FileManager.default.contents(atPath: path) == Data("first version\n".utf8))
        #expect(try permissions(path) == 0o750)
        #expect(try leftovers(in: target).isEmpty)

        // Replacing an existing file is atomic and applies the new mode.
        try await session.upload(Array("second version\n".utf8), to: path, mode: 0o600)
        #expect(FileManager.default.contents(atPath: path) == Data("second version\n".utf8))
        #expect(try permissions(path) == 0o600)
        #expect(try leftovers(in: target).isEmpty)

        let readBack = try await session.readFile(path)
        #expect(readBack == Array("second version\n".utf8))
    }

    @Test("Uploading a local file streams all of it")
    func uploadLocalFile() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let content = (0..<(3 * 1024 * 1024 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let local = server.directory + "/local.bin"
        try Data(content).write(to: URL(fileURLWithPath: local))
        let remote = server.directory + "/remote.bin"
        try await session.upload(contentsOf: local, to: remote, mode: 0o755)
        #expect(FileManager.default.contents(atPath: remote) == Data(content))
        #expect(try permissions(remote) == 0o755)
        #expect(try leftovers(in: server.directory).isEmpty)
    }

    @Test("Uploading a missing local file reports the path")
    func uploadMissingLocalFile() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let error = await #expect(throws: SSHError.self) {
            try await session.upload(contentsOf: server.directory + "/absent", to: server.directory + "/x")
        }
        #expect(error?.kind == .localFile(errno: ENOENT))
        #expect(error?.message.contains("cannot open \(server.directory)/absent") == true)
    }

    @Test("Uploading into a missing directory fails with the SFTP status and path")
    func uploadMissingDirectory() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let error = await #expect(throws: SSHError.self) {
            try await session.upload([1, 2, 3], to: server.directory + "/missing/file", mode: 0o644)
        }
        #expect(error?.kind == .sftp(status: 2))
        #expect(error?.message.contains("\(server.directory)/missing/.file.tmp-") == true)
        #expect(error?.message.contains("no such file") == true)
    }

    @Test("Reading a missing remote file fails with status 2")
    func readMissing() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let error = await #expect(throws: SSHError.self) { try await session.readFile(server.directory + "/absent") }
        #expect(error?.kind == .sftp(status: 2))
        #expect(error?.message.contains("\(server.directory)/absent") == true)
    }

    @Test("Reading a file larger than the limit is refused")
    func readTooLarge() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let path = server.directory + "/big"
        try Data(count: 100_000).write(to: URL(fileURLWithPath: path))
        let error = await #expect(throws: SSHError.self) { try await session.readFile(path, maxBytes: 1000) }
        #expect(error?.kind == .remoteFileTooLarge)
        #expect(error?.message == "\(path) is larger than 1000 bytes")
    }
}
