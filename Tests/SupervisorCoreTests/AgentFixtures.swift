import AgentAPI
import AgentBasics
import AgentCore
import AgentSystem
import Foundation
import Glibc
import Logging
import Synchronization
import Testing

/// A freezer that freezes nothing real: it lists one pretend mount point and counts calls.
final class RecordingFreezer: FilesystemFreezer, Sendable {
    let calls = Mutex<[String]>([])

    func mountPoints() throws(AgentError) -> [String] { ["/pretend"] }
    func freeze(_ mountPoint: String) throws(AgentError) { calls.withLock { $0.append("freeze " + mountPoint) } }
    func thaw(_ mountPoint: String) throws(AgentError) { calls.withLock { $0.append("thaw " + mountPoint) } }
}

/// A real in-process agent on loopback with a random port and its own temporary directory.
enum RealAgent {
    /// Runs `body` with the agent's `host:port` while the agent serves.
    /// - Parameters:
    ///   - token: The token the agent accepts.
    ///   - freezer: What freezes filesystems; the default cannot read its mount table, so freezing fails.
    ///   - tlsFiles: The files of the agent's `tls_dir` (``AgentCredentials/guestTLSFiles``); none for plain HTTP.
    ///   - host: The loopback address it listens on, `127.0.0.1` or `::1`; an IPv6 one is handed to `body` as
    ///     `[::1]:port`.
    static func with(
        token: String, host: String = "127.0.0.1",
        freezer: any FilesystemFreezer = IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts"),
        tlsFiles: [(name: String, contents: [UInt8], mode: UInt32)] = [],
        _ body: @Sendable (String) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("agent.token").path
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let tlsDirectory = directory.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: tlsDirectory, withIntermediateDirectories: true)
        for file in tlsFiles {
            try Data(file.contents).write(to: tlsDirectory.appendingPathComponent(file.name))
        }
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: host, port: 0), tokenFile: tokenFile,
            tlsDirectory: tlsDirectory.path, socketPath: directory.appendingPathComponent("run/agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path, monitoredUnits: [],
            monitorInterval: .seconds(1))
        var logger = Logger(label: "agent-test")
        logger.logLevel = .warning
        // The clock threshold is huge so that a time push never sets the test host's clock.
        let server = AgentServer(
            configuration: configuration, logger: logger, execKillGrace: .seconds(1), handleSignals: false,
            maintenance: AgentMaintenanceOptions(
                freezer: freezer, systemctlPath: "/nonexistent/systemctl", clockDriftThreshold: .seconds(86_400)))
        let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0) } }
            var iterator = ready.makeAsyncIterator()
            let endpoints = try #require(await iterator.next())
            do {
                try await body(host.contains(":") ? "[\(host)]:\(endpoints.port)" : "\(host):\(endpoints.port)")
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}

/// A loopback TCP server that accepts connections and either never answers (a hung agent) or answers every
/// request with one canned HTTP response.
final class CannedServer: @unchecked Sendable {
    // @unchecked: `descriptor` and `port` are set once in init; the accepted sockets are only touched by the
    // one accept thread; `stop()` closes the listening descriptor once (guarded by a mutex), ending that thread.
    let port: Int
    private let descriptor: Int32
    private let thread: Thread
    private let stopped = Mutex(false)

    /// Starts listening.
    /// - Parameter response: The bytes to answer with; `nil` keeps every connection open without a word.
    init(response: String?) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 64) == 0 else {
            throw CannedServerError(message: "cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.thread = Thread {
            var held: [Int32] = []
            while true {
                let client = accept(descriptor, nil, nil)
                guard client >= 0 else { break }
                guard let response else {
                    held.append(client)
                    continue
                }
                var buffer = [UInt8](repeating: 0, count: 65_536)
                _ = read(client, &buffer, buffer.count)
                let bytes = Array(response.utf8)
                _ = bytes.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count) }
                close(client)
            }
            for client in held { close(client) }
        }
        thread.start()
    }

    /// Answers `/v1/status` and `/v1/health/ready` alike with a status body of another protocol version.
    static func wrongVersion() throws -> CannedServer {
        let body = """
            {"agent_version":"9.9.9","protocol_version":99,"binary_sha256":"00","uptime_seconds":1,"boot_id":"b",\
            "hostname":"h","features":[]}
            """
        return try CannedServer(
            response: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Connection: close\r\n\r\n" + body)
    }

    /// Stops accepting and closes held connections.
    func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    deinit { stop() }
}

struct CannedServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A loopback port nothing listens on.
func closedLoopbackPort() throws -> Int {
    let server = try CannedServer(response: nil)
    let port = server.port
    server.stop()
    return port
}
