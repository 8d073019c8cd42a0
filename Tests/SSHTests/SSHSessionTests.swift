import Foundation
import Glibc
import SSH
import SSHTestSupport
import Testing

@Suite("SSH sessions against a real sshd", .timeLimit(.minutes(2)))
struct SSHSessionTests {
    @Test("A command reports exit status, stdout and stderr")
    func commandOutput() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let result = try await session.run("echo out; echo err >&2; exit 3")
        #expect(result.exitStatus == 3)
        #expect(result.exitSignal == nil)
        #expect(result.stdoutString == "out\n")
        #expect(result.stderrString == "err\n")
        #expect(!result.succeeded)
        let ok = try await session.run("true")
        #expect(ok.succeeded)
    }

    @Test("Large output on both streams is collected completely")
    func largeOutput() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let result = try await session.run("head -c 3000000 /dev/zero; head -c 1000000 /dev/zero >&2")
        #expect(result.exitStatus == 0)
        #expect(result.stdout.count == 3_000_000)
        #expect(result.stderr.count == 1_000_000)
    }

    @Test("A local file becomes the command's standard input, while its output is read")
    func standardInput() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let input = server.directory + "/input.bin"
        let bytes = (0..<5_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        // The command echoes everything back while it reads, so both directions are busy at once.
        let echoed = try await session.run("cat; echo done >&2", inputPath: input)
        #expect(echoed.succeeded)
        #expect(echoed.stdout == bytes)
        #expect(echoed.stderrString == "done\n")

        let counted = try await session.run("wc -c", inputPath: input)
        #expect(counted.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines) == "5000000")

        // A command that does not read its input still finishes with its own status.
        let ignored = try await session.run("exit 4", inputPath: input)
        #expect(ignored.exitStatus == 4)

        let missing = await #expect(throws: SSHError.self) {
            try await session.run("cat", inputPath: server.directory + "/no-such-file")
        }
        #expect(missing?.kind == .localFile(errno: ENOENT))
        #expect(try await session.run("true").succeeded)
    }

    @Test("A command killed by a signal reports the signal")
    func commandSignal() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let result = try await session.run("kill -TERM $$")
        #expect(result.exitSignal == "TERM")
        #expect(result.exitStatus == nil)
    }

    @Test("A command past its deadline throws a timeout and the session stays usable")
    func commandDeadline() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        defer { session.close() }
        let started = ContinuousClock.now
        let error = await #expect(throws: SSHError.self) {
            try await session.run("sleep 20", timeout: .milliseconds(500))
        }
        #expect(error?.kind == .timeout)
        #expect(error?.message.contains("deadline") == true)
        #expect(ContinuousClock.now - started < .seconds(20))
        let after = try await session.run("echo still-here")
        #expect(after.stdoutString == "still-here\n")
    }

    @Test("A wrong user key fails authentication")
    func wrongUserKey() async throws {
        let server = try SSHTestServer()
        let other = try SSHKeyPair.generate(at: server.directory + "/other_ed25519")
        let configuration = server.configuration(
            knownHosts: server.directory + "/known_hosts", privateKeyPath: other.privateKeyPath)
        let error = await #expect(throws: SSHError.self) { try await SSHSession.connect(configuration) }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.function == "libssh2_userauth_publickey_fromfile_ex")
        #expect(error?.message.contains("root@127.0.0.1:\(server.port) rejected key \(other.privateKeyPath)") == true)
    }

    @Test("A missing private key file is reported before authentication")
    func missingPrivateKey() async throws {
        let server = try SSHTestServer()
        let configuration = server.configuration(
            knownHosts: server.directory + "/known_hosts", privateKeyPath: server.directory + "/absent")
        let error = await #expect(throws: SSHError.self) { try await SSHSession.connect(configuration) }
        #expect(error?.kind == .privateKey)
        #expect(error?.message.contains("cannot read private key \(server.directory)/absent") == true)
    }

    @Test("A closed port refuses the connection")
    func connectionRefused() async throws {
        let port = try freeLoopbackPort()
        let configuration = SSHSessionConfiguration(
            host: "127.0.0.1", port: port, user: "root", privateKeyPath: "/nonexistent",
            knownHosts: SSHKnownHosts(path: "/nonexistent/known_hosts", policy: .strict))
        let error = await #expect(throws: SSHError.self) { try await SSHSession.connect(configuration) }
        #expect(error?.kind == .connectionRefused)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }

    @Test("An unresolvable host name is reported")
    func resolveFailure() async throws {
        let configuration = SSHSessionConfiguration(
            host: "no-such-host.invalid", user: "root", privateKeyPath: "/nonexistent",
            knownHosts: SSHKnownHosts(path: "/nonexistent/known_hosts", policy: .strict))
        let error = await #expect(throws: SSHError.self) { try await SSHSession.connect(configuration) }
        #expect(error?.kind == .resolveFailed)
        #expect(error?.message.contains("no-such-host.invalid") == true)
    }

    @Test("A listener whose backlog is full makes the TCP connect time out")
    func connectTimeout() async throws {
        let (listener, port) = try boundLoopbackSocket()
        defer { close(listener) }
        #expect(listen(listener, 0) == 0)
        // Fill the accept queue; further SYNs are dropped, so a new connect never completes.
        let fillers = (0..<4).map { _ in startConnection(port: port) }
        defer { fillers.forEach { close($0) } }
        usleep(100_000)
        let configuration = SSHSessionConfiguration(
            host: "127.0.0.1", port: port, user: "root", privateKeyPath: "/nonexistent",
            knownHosts: SSHKnownHosts(path: "/nonexistent/known_hosts", policy: .strict),
            connectTimeout: .milliseconds(700))
        let started = ContinuousClock.now
        let error = await #expect(throws: SSHError.self) { try await SSHSession.connect(configuration) }
        #expect(error?.kind == .connectTimeout)
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("A server that never sends the SSH banner makes the handshake time out")
    func handshakeTimeout() async throws {
        let (listener, port) = try boundLoopbackSocket()
        defer { close(listener) }
        #expect(listen(listener, 16) == 0)
        let configuration = SSHSessionConfiguration(
            host: "127.0.0.1", port: port, user: "root", privateKeyPath: "/nonexistent",
            knownHosts: SSHKnownHosts(path: "/nonexistent/known_hosts", policy: .strict),
            connectTimeout: .milliseconds(700))
        let started = ContinuousClock.now
        let error = await #expect(throws: SSHError.self) { try await SSHSession.connect(configuration) }
        #expect(error?.kind == .connectTimeout)
        #expect(error?.function == "libssh2_session_handshake")
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("A closed session refuses further work")
    func closedSession() async throws {
        let server = try SSHTestServer()
        let session = try await SSHSession.connect(server.configuration(knownHosts: server.directory + "/known_hosts"))
        session.close()
        session.close()
        let error = await #expect(throws: SSHError.self) { try await session.run("true") }
        #expect(error?.kind == .sessionClosed)
        #expect(error?.message == "the session is closed")
    }
}
