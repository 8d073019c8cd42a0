import AgentAPI
import Curl
import Foundation
import Glibc
import HTTPTypes
import Synchronization
import Testing

@testable import AgentCore

/// Raw client sockets, held open without sending anything.
enum IdleSockets {
    /// Raises this process's soft `RLIMIT_NOFILE` to the hard limit.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// A connected TCP socket to 127.0.0.1:`port`, or -1.
    static func tcp(port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// A connected unix socket to `path`, or -1.
    static func unix(path: String) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// Whether the server closed the connection within `timeout` (a read returns end of file or an error).
    static func isClosed(_ descriptor: Int32, within timeout: Duration) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&entry, 1, milliseconds) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }
}

@Suite("Connection limits", .serialized, .timeLimit(.minutes(3)))
struct AgentConnectionLimiterTests {
    @Test("2,000 idle connections (1,000 TCP, 1,000 unix) leave /v1/health/live answering within a second")
    func manyIdleConnections() async throws {
        IdleSockets.raiseDescriptorLimit()
        try await AgentHarness.with { agent in
            let endpoints = agent.endpoints
            let descriptors = try await onThread {
                (0..<1000).map { _ in IdleSockets.tcp(port: endpoints.port) }
                    + (0..<1000).map { _ in IdleSockets.unix(path: endpoints.socketPath) }
            }
            defer { descriptors.filter { $0 >= 0 }.forEach { close($0) } }
            #expect(descriptors.allSatisfy { $0 >= 0 }, "\(descriptors.count { $0 < 0 }) connections failed")
            let clock = ContinuousClock()
            let tcpStart = clock.now
            let tcp = try await agent.request(.get, AgentRoute.healthLive, token: nil)
            let tcpTime = clock.now - tcpStart
            let unixStart = clock.now
            let unix = try await agent.unixRequest(AgentRoute.healthLive)
            let unixTime = clock.now - unixStart
            print("health/live with 2,000 idle connections: TCP \(tcpTime), unix \(unixTime)")
            #expect(tcp.status == .ok)
            #expect(unix.status == .ok)
            #expect(tcpTime < .seconds(1))
            #expect(unixTime < .seconds(1))
            // The idle ones are still open (the default cap, 4,096 per listener, is not reached).
            #expect(!IdleSockets.isClosed(descriptors[0], within: .zero))
        }
    }

    @Test("An idle connection is closed after the idle timeout; a long-poll longer than it is answered")
    func idleTimeout() async throws {
        try await AgentHarness.with(connections: AgentConnectionOptions(idleTimeout: .seconds(1), socketGroup: nil)) {
            agent in
            let endpoints = agent.endpoints
            let (tcpClosed, unixClosed) = try await onThread {
                let tcp = IdleSockets.tcp(port: endpoints.port)
                let unix = IdleSockets.unix(path: endpoints.socketPath)
                defer {
                    close(tcp)
                    close(unix)
                }
                return (IdleSockets.isClosed(tcp, within: .seconds(5)), IdleSockets.isClosed(unix, within: .seconds(5)))
            }
            #expect(tcpClosed)
            #expect(unixClosed)
            // A request in progress is not idle: a 2.5 s long-poll outlives the 1 s idle timeout.
            let id = try await agent.startJob(ExecRequest(argv: ["sleep", "5"]))
            let reply = try await agent.request(.get, "\(AgentRoute.exec)/\(id)/output?wait_ms=2500")
            #expect(reply.status == .ok)
        }
    }

    @Test("At the cap a new connection evicts the longest-idle one, so /v1/health/live still answers")
    func capEvictsIdle() async throws {
        try await AgentHarness.with(connections: AgentConnectionOptions(maxConnectionsPerListener: 8, socketGroup: nil))
        {
            agent in
            let endpoints = agent.endpoints
            let descriptors = try await onThread { (0..<8).map { _ in IdleSockets.tcp(port: endpoints.port) } }
            defer { descriptors.forEach { close($0) } }
            try await Task.sleep(for: .milliseconds(200))
            let reply = try await agent.request(.get, AgentRoute.healthLive, token: nil)
            #expect(reply.status == .ok)
            let oldestClosed = try await onThread { IdleSockets.isClosed(descriptors[0], within: .seconds(2)) }
            #expect(oldestClosed)
            let metrics = String(decoding: try await agent.request(.get, AgentRoute.metrics).body, as: UTF8.self)
            // The cap holds; the health request (and the metrics request, when curl opened a new one) evicted.
            #expect(metrics.contains("somnus_agent_connections{listener=\"tcp\"} 8\n"), "\(metrics)")
            #expect(!metrics.contains("somnus_agent_connections_evicted_total{listener=\"tcp\"} 0\n"))
            #expect(metrics.contains("somnus_agent_connections_refused_total{listener=\"tcp\"} 0\n"))
        }
    }

    @Test("The limiter refuses a connection when every open one has a request in progress")
    func allBusy() throws {
        let limiter = AgentConnectionLimiter(capacity: 1)
        let closed = Atomic(0)
        let close: @Sendable () -> Void = { closed.add(1, ordering: .relaxed) }
        let admitted = limiter.admit(close: close)
        let first = try #require(admitted)
        first.activity.withLock { $0.inFlight = 1 }
        let refused = limiter.admit(close: close)
        #expect(refused == nil)
        #expect(limiter.counters.refused == 1)
        first.activity.withLock { $0.inFlight = 0 }
        let second = limiter.admit(close: close)
        #expect(second != nil)
        #expect(closed.load(ordering: .relaxed) == 1)
        #expect(limiter.counters.evicted == 1)
        #expect(limiter.count == 1)
    }
}
