import AgentAPI
import AgentBasics
import AgentCore
import ArgumentParser
import Curl
import Foundation
import Logging
import SupervisorCore

/// `somnus-bench`: prints the figures the issues ask for. Numbers are measured, never asserted.
@main
struct SomnusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "somnus-bench",
        abstract: "Measure Somnus: poll sweeps, agent latency and footprint, VM create, CLI start.",
        subcommands: [
            PollSweep.self, AgentLatency.self, AgentIdle.self, CreateDefined.self, CLIStart.self,
            ClassifyBench.self, TailerBench.self, MemoryBench.self, ErrorFixBench.self,
        ])
}

/// Percentile of sorted durations in milliseconds.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))
    return sorted[index]
}

/// Runs real agent servers in-process on 127.0.0.1:0 and hands back their TCP ports.
struct AgentFleet {
    let directory: URL
    let tokenFile: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-bench-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        tokenFile = directory.appendingPathComponent("token").path
        try Data("bench-token".utf8).write(to: URL(fileURLWithPath: tokenFile))
    }

    /// Deletes the directory and everything the agents wrote into it.
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    func configuration(_ index: Int) -> AgentConfiguration {
        AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0), tokenFile: tokenFile,
            tlsDirectory: directory.appendingPathComponent("tls").path,
            socketPath: directory.appendingPathComponent("agent-\(index).sock").path,
            dataDirectory: directory.path, journal: false, monitorInterval: .seconds(5))
    }

    /// Starts `count` servers in `group` and returns their ports once all are bound.
    func start(_ count: Int, in group: inout ThrowingTaskGroup<Void, any Error>) async -> [Int] {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        for index in 0..<count {
            let server = AgentServer(configuration: configuration(index), logger: logger, handleSignals: false)
            group.addTask { try await server.run { continuation.yield($0.port) } }
        }
        var bound: [Int] = []
        for await port in ports {
            bound.append(port)
            if bound.count == count { break }
        }
        return bound
    }
}

/// A TCP listener that completes connections in its backlog but never answers: a hung agent.
func hungListener() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0, listen(fd, 1024) == 0 else { throw ExitCode(1) }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

struct PollSweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll-sweep", abstract: "One poller sweep over many agents, some of them hung.")
    @Option(help: "Agents polled per sweep.") var agents = 100
    @Option(help: "How many of them never answer.") var hung = 5
    @Option(help: "Per-request deadline in ms.") var deadlineMs = 500
    @Option(help: "Sweeps to time.") var sweeps = 5

    func run() async throws {
        let fleet = try AgentFleet()
        defer { fleet.remove() }
        let curl = try CurlClient()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var ports = await fleet.start(agents - hung, in: &group)
            let listeners = try (0..<hung).map { _ in try hungListener() }
            ports += listeners.map(\.port)
            let clients = ports.map {
                AgentClient(
                    address: "127.0.0.1", port: $0, token: "bench-token", timeout: .milliseconds(deadlineMs),
                    curl: curl)
            }
            // Steady state: each agent hashes its own binary once, at its first status request.
            await withTaskGroup(of: Void.self) { warm in
                for port in ports.dropLast(hung) {
                    let client = AgentClient(
                        address: "127.0.0.1", port: port, token: "bench-token", timeout: .seconds(120), curl: curl)
                    warm.addTask { _ = await client.probe(vm: "warm-up") }
                }
            }
            var times: [Double] = []
            for sweep in 0..<sweeps {
                let clock = ContinuousClock()
                let start = clock.now
                let results = await withTaskGroup(of: AgentHealth.self) { probes in
                    for (index, client) in clients.enumerated() {
                        probes.addTask { await client.probe(vm: "vm-\(index)") }
                    }
                    return await probes.reduce(into: [AgentHealth]()) { $0.append($1) }
                }
                let elapsed = (clock.now - start) / .milliseconds(1)
                times.append(elapsed)
                let healthy = results.filter { $0.state == .healthy || $0.state == .degraded }.count
                let timedOut = results.filter { $0.reason == .timeout }.count
                print(
                    String(
                        format: "sweep %d: %.0f ms, %d answered, %d timed out", sweep + 1, elapsed, healthy, timedOut))
            }
            times.sort()
            print(
                String(
                    format: "poll sweep of %d agents (%d hung, deadline %d ms): p50 %.0f ms, max %.0f ms", agents,
                    hung, deadlineMs, percentile(times, 0.5), times.last ?? .nan))
            listeners.forEach { close($0.fd) }
            group.cancelAll()
        }
    }
}

/// The agent binary started as its own process on 127.0.0.1, with its own notify socket.
struct AgentProcess {
    let process: Process
    let fleet: AgentFleet
    let port: Int
    let readyMilliseconds: Double

    /// Starts `path serve` and waits for READY=1.
    static func start(path: String, fleet: AgentFleet) throws -> AgentProcess {
        let probe = try hungListener()
        close(probe.fd)
        var configuration = fleet.configuration(0)
        configuration.listen = AgentListenAddress(host: "127.0.0.1", port: probe.port)
        let config = fleet.directory.appendingPathComponent("agent.json")
        try Data(configuration.jsonText().utf8).write(to: config)
        let notify = fleet.directory.appendingPathComponent("notify.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in notify.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["serve", "--config", config.path]
        // The environment the systemd unit gives it (`somnus-agent.service`).
        process.environment = ["NOTIFY_SOCKET": notify, "PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "2"]
        process.standardError = FileHandle.nullDevice
        let clock = ContinuousClock()
        let start = clock.now
        try process.run()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0, String(decoding: buffer[0..<count], as: UTF8.self).contains("READY=1") { break }
        }
        return AgentProcess(
            process: process, fleet: fleet, port: probe.port, readyMilliseconds: (clock.now - start) / .milliseconds(1))
    }

    /// Stops the agent and deletes its directory.
    func stop() {
        process.terminate()
        process.waitUntilExit()
        fleet.remove()
    }
}

struct AgentLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-latency",
        abstract:
            "Latency of the agent binary's /v1/health/live and /v1/stats at a fixed request rate, over plain HTTP and "
            + "over the mutual TLS a deployed agent speaks, in one run.")
    @Option(help: "The agent binary (default: somnus-agent beside this executable).") var agent: String?
    @Option(help: "Requests per route.") var requests = 1000
    @Option(help: "Requests per second.") var rate = 1000

    func run() async throws {
        let binary = try ImageBuilder.locateAgentBinary(self.agent)
        let curl = try CurlClient()
        let plainFleet = try AgentFleet()
        let tlsFleet = try AgentFleet()
        // The host's side of a deploy: a state directory with the VM's credentials, the agent's side in tls_dir.
        let layout = StateLayout(root: tlsFleet.directory.appendingPathComponent("host").path)
        try FileManager.default.createDirectory(atPath: layout.vmDirectory("bench"), withIntermediateDirectories: true)
        let credentials = try AgentCredentials.ensure(layout: layout, vm: "bench")
        let tlsDirectory = tlsFleet.directory.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: tlsDirectory, withIntermediateDirectories: true)
        for file in credentials.guestTLSFiles {
            try Data(file.contents).write(to: tlsDirectory.appendingPathComponent(file.name))
        }
        for (label, fleet, tls) in [("http", plainFleet, nil), ("https", tlsFleet, credentials.tls)] {
            let agent = try AgentProcess.start(path: binary, fleet: fleet)
            defer { agent.stop() }
            for route in [AgentRoute.healthLive, AgentRoute.stats] {
                let request = CurlRequest(
                    url: "\(label)://127.0.0.1:\(agent.port)\(route)", bearerToken: "bench-token", timeout: .seconds(5),
                    tls: tls)
                let latencies = try await paced(request, curl: curl)
                print(
                    String(
                        format: "%@ %@ at %d req/s over loopback (curl multi): p50 %.2f ms, p99 %.2f ms (%d requests)",
                        label, route, rate, percentile(latencies, 0.5), percentile(latencies, 0.99), requests))
                guard tls == nil else { continue }
                let direct = try KeepAliveClient.paced(
                    port: agent.port, route: route, token: "bench-token", requests: requests, rate: rate)
                print(
                    String(
                        format: "%@ %@ at %d req/s over loopback (one keep-alive socket): p50 %.2f ms, p99 %.2f ms",
                        label, route, rate, percentile(direct, 0.5), percentile(direct, 0.99)))
            }
        }
    }

    /// Sends `request` `requests` times, one every `1/rate` s, after 100 uncounted ones; latencies in ms, sorted.
    private func paced(_ request: CurlRequest, curl: CurlClient) async throws -> [Double] {
        // Warm-up, not counted: the first requests open connections (and shake hands) and fault in the code pages the
        // agent gave back after start-up.
        for _ in 0..<100 {
            let answer = try await curl.perform(request)
            guard answer.status == 200 else {
                throw ValidationError("\(request.url) answered \(answer.status): \(answer.bodyText)")
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let interval = Duration.seconds(1) / rate
        return await withTaskGroup(of: Double.self) { calls in
            for index in 0..<requests {
                calls.addTask {
                    try? await Task.sleep(until: start + interval * index, clock: clock)
                    let sent = clock.now
                    _ = try? await curl.perform(request)
                    return (clock.now - sent) / .milliseconds(1)
                }
            }
            return await calls.reduce(into: [Double]()) { $0.append($1) }.sorted()
        }
    }
}

/// A minimal HTTP/1.1 client on one blocking keep-alive socket: the agent's own latency without curl's multi
/// loop or task scheduling in the way. It blocks its thread, which is fine in this one-shot benchmark command.
enum KeepAliveClient {
    /// Sends `requests` GETs of `route`, one every `1/rate` s, and returns their latencies in ms, sorted.
    static func paced(port: Int, route: String, token: String, requests: Int, rate: Int) throws -> [Double] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ExitCode(1) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ExitCode(1) }
        var noDelay: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        let request = Array(
            "GET \(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n".utf8)
        let clock = ContinuousClock()
        let start = clock.now
        let interval = Duration.seconds(1) / rate
        var latencies: [Double] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for index in 0..<requests {
            let due = start + interval * index
            if due > clock.now { Thread.sleep(forTimeInterval: (due - clock.now) / .seconds(1)) }
            let sent = clock.now
            guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
                throw ExitCode(1)
            }
            var received: [UInt8] = []
            while !isComplete(received) {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw ExitCode(1) }
                received += buffer[0..<count]
            }
            latencies.append((clock.now - sent) / .milliseconds(1))
        }
        return latencies.sorted()
    }

    /// Whether `bytes` hold a whole response: headers and `Content-Length` bytes of body.
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4,
            let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator })
        else { return false }
        let header = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
        let length =
            header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).filter { $0 != " " }) } ?? 0
        return bytes.count >= end + 4 + length
    }
}

struct AgentIdle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-idle",
        abstract: "Start the agent binary: time to READY=1, then idle RSS and CPU, and the binary's size.",
        discussion: """
            Before each start the binary's pages are dropped from the page cache, so that it is read and mapped as \
            on a freshly booted guest: how a file's pages were last cached (written by a build, read by a copy) \
            otherwise moves its resident size by a megabyte. With --baseline, the two binaries run in turn, run \
            for run, and the medians are compared.
            """)
    @Option(help: "The agent binary (default: somnus-agent beside this executable).") var agent: String?
    @Option(help: "Another agent binary, run in turn with the first for before/after figures.") var baseline: String?
    @Option(help: "Runs of each binary.") var runs = 1
    @Option(help: "Seconds to stay idle before sampling.") var seconds = 60
    @Option(
        help: """
            Poll the agent every this many seconds meanwhile, as the host's poller does (GET /v1/status and \
            /v1/health/ready, plain HTTP through curl); 0: nobody polls it.
            """)
    var pollSeconds = 0
    @Option(
        help: """
            A memory model directory (provisioning/fetch-memory-model.sh) linked into each agent's data directory             as the guest image installs it; without it the agent runs without a model.
            """)
    var memoryModel: String?

    /// What one run measured.
    struct Sample {
        var readyMilliseconds: Double
        var cpuPercent: Double
        var rss: (total: Int, anonymous: Int, file: Int)
    }

    func run() async throws {
        let path = try ImageBuilder.locateAgentBinary(agent)
        let binaries = [path] + (baseline.map { [$0] } ?? [])
        if pollSeconds > 0 {
            print("polled every \(pollSeconds) s (\(AgentRoute.status) and \(AgentRoute.healthReady)) while idle")
        }
        if let memoryModel { print("with the memory model in \(memoryModel)") }
        var samples: [String: [Sample]] = [:]
        for round in 1...max(runs, 1) {
            for binary in binaries {
                let sample = try await measure(binary)
                samples[binary, default: []].append(sample)
                print(
                    String(
                        format: "%@ run %d: start → READY=1 %.0f ms, idle CPU %.3f %% of a core, "
                            + "idle RSS after %d s %d KiB (anonymous %d KiB, pages of files %d KiB)",
                        binary, round, sample.readyMilliseconds, sample.cpuPercent, seconds, sample.rss.total,
                        sample.rss.anonymous, sample.rss.file))
            }
        }
        for binary in binaries {
            let runs = samples[binary] ?? []
            func median(_ value: (Sample) -> Double) -> Double { runs.map(value).sorted()[runs.count / 2] }
            let size = (try FileManager.default.attributesOfItem(atPath: binary)[.size] as? Int) ?? 0
            print("\(binary), median of \(runs.count) run(s):")
            print(String(format: "  start → READY=1: %.0f ms", median(\.readyMilliseconds)))
            print(String(format: "  idle CPU over %d s: %.3f %% of a core", seconds, median(\.cpuPercent)))
            print(
                String(
                    format: "  idle RSS after %d s: %.1f MiB (anonymous %.1f MiB, pages of files such as the binary "
                        + "%.1f MiB)", seconds, median { Double($0.rss.total) } / 1024,
                    median { Double($0.rss.anonymous) } / 1024, median { Double($0.rss.file) } / 1024))
            print(String(format: "  binary size: %d bytes (%.1f MB)", size, Double(size) / 1e6))
        }
    }

    /// Drops the binary's pages from the page cache, starts it, idles and samples it.
    func measure(_ path: String) async throws -> Sample {
        let fd = open(path, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
            close(fd)
        }
        let fleet = try AgentFleet()
        if let memoryModel {
            try FileManager.default.createSymbolicLink(
                atPath: fleet.directory.appendingPathComponent(AgentMemory.modelDirectoryName).path,
                withDestinationPath: memoryModel)
        }
        let agent = try AgentProcess.start(path: path, fleet: fleet)
        defer { agent.stop() }
        let pid = agent.process.processIdentifier
        let ticksBefore = cpuTicks(pid)
        if pollSeconds > 0 {
            let curl = try CurlClient()
            let clock = ContinuousClock()
            let end = clock.now + .seconds(seconds)
            while clock.now + .seconds(pollSeconds) <= end {
                try await Task.sleep(for: .seconds(pollSeconds))
                for route in [AgentRoute.status, AgentRoute.healthReady] {
                    _ = try await curl.perform(
                        CurlRequest(
                            url: "http://127.0.0.1:\(agent.port)\(route)", bearerToken: "bench-token",
                            timeout: .seconds(5)))
                }
            }
            try await Task.sleep(until: end)
        } else {
            try await Task.sleep(for: .seconds(seconds))
        }
        let ticksAfter = cpuTicks(pid)
        let cpu = Double(ticksAfter - ticksBefore) / Double(sysconf(Int32(_SC_CLK_TCK))) / Double(seconds) * 100
        return Sample(readyMilliseconds: agent.readyMilliseconds, cpuPercent: cpu, rss: rssKiB(pid))
    }

    func cpuTicks(_ pid: Int32) -> Int {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        // After the command name: state is field 3, utime 14 and stime 15 of the full line.
        guard fields.count > 12 else { return 0 }
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    /// VmRSS, RssAnon and RssFile of `/proc/PID/status` in KiB.
    func rssKiB(_ pid: Int32) -> (total: Int, anonymous: Int, file: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return (field("VmRSS"), field("RssAnon"), field("RssFile"))
    }
}

struct CreateDefined: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Time create → defined on libvirt's test:///default driver.")
    @Option(help: "VMs to create.") var count = 20

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-bench-\(UUID())")
        let image = root.appendingPathComponent("images/base")
        try FileManager.default.createDirectory(at: image, withIntermediateDirectories: true)
        for file in ["vmlinuz", "initrd.img"] {
            try Data().write(to: image.appendingPathComponent(file))
        }
        let qemuImg = Process()
        qemuImg.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
        qemuImg.arguments = ["create", "-q", "-f", "qcow2", image.appendingPathComponent("disk.qcow2").path, "64M"]
        try qemuImg.run()
        qemuImg.waitUntilExit()
        try Data(
            #"{"inputHash":"bench","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2","kernelCommandLine":""}"#
                .utf8
        ).write(to: image.appendingPathComponent("manifest.json"))
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let manager = try await VMManager(
            configuration: SupervisorConfiguration(
                stateDirectory: root.path, libvirtURI: "test:///default", accelerator: .tcg),
            logger: logger)
        var times: [Double] = []
        for index in 0..<count {
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await manager.create(name: "bench-\(index)")
            times.append((clock.now - start) / .milliseconds(1))
        }
        times.sort()
        print(
            String(
                format: "create → defined on test:///default (overlay + define + inventory): p50 %.1f ms, max %.1f ms",
                percentile(times, 0.5), times.last ?? .nan))
        try? FileManager.default.removeItem(at: root)
    }
}

struct CLIStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cli-start", abstract: "Wall time of `somnus vm list` from exec to exit.")
    @Option(help: "Runs to time.") var runs = 20

    func run() async throws {
        let somnus = ImageBuilder.executableDirectory().appendingPathComponent("somnus").path
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-bench-\(UUID())").path
        var times: [Double] = []
        for _ in 0..<runs {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: somnus)
            process.arguments = ["vm", "list", "--state-dir", state, "--libvirt-uri", "test:///default"]
            process.standardOutput = FileHandle.nullDevice
            let clock = ContinuousClock()
            let start = clock.now
            try process.run()
            process.waitUntilExit()
            times.append((clock.now - start) / .milliseconds(1))
        }
        times.sort()
        print(
            String(
                format: "somnus vm list (test:///default): p50 %.1f ms, max %.1f ms over %d runs",
                percentile(times, 0.5), times.last ?? .nan, runs))
        try? FileManager.default.removeItem(atPath: state)
    }
}
