import AgentCore
import Foundation
import Glibc
import Testing

private let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/debug/somnus-agent").path

@Suite(
    "somnus-agent binary",
    .timeLimit(.minutes(1)),
    .enabled(if: FileManager.default.isExecutableFile(atPath: binary), "build the somnus-agent product first")
)
struct SomnusAgentBinaryTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("binary-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    @Test("An invalid configuration exits 2 naming the key")
    func invalidConfiguration() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("agent.json")
        try #"{"monitor_interval_seconds": "soon"}"#.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config.path]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let text = try await onThread {
            let data = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(process.terminationStatus == 2)
        #expect(text.contains("monitor_interval_seconds: must be a number"))
    }

    @Test("Sends READY=1 after binding, STOPPING=1 on SIGTERM, and exits cleanly")
    func notifyLifecycle() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let notifyPath = directory.appendingPathComponent("notify.sock").path
        let descriptor = try bindDatagramSocket(notifyPath)
        defer { close(descriptor) }
        try "token".write(to: directory.appendingPathComponent("agent.token"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "serve", "--config", directory.appendingPathComponent("none.json").path, "--listen", "127.0.0.1:0",
            "--token-file", directory.appendingPathComponent("agent.token").path,
            "--socket", directory.appendingPathComponent("run/agent.sock").path,
            "--data-dir", directory.appendingPathComponent("data").path,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notifyPath
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ready = try await onThread { receive(descriptor) }
        #expect(ready.hasPrefix("READY=1\nSTATUS=serving on 127.0.0.1:"))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("run/agent.sock").path))
        kill(process.processIdentifier, SIGTERM)
        let stopping = try await onThread { receive(descriptor) }
        #expect(stopping == "STOPPING=1\nSTATUS=stopping")
        try await onThread { process.waitUntilExit() }
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }

    @Test("SIGHUP reads the configuration again between RELOADING=1 and READY=1; a refused file changes nothing")
    func reloadOnSIGHUP() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let notifyPath = directory.appendingPathComponent("notify.sock").path
        let descriptor = try bindDatagramSocket(notifyPath)
        defer { close(descriptor) }
        try "token".write(to: directory.appendingPathComponent("agent.token"), atomically: true, encoding: .utf8)
        let socket = directory.appendingPathComponent("run/agent.sock").path
        let config = directory.appendingPathComponent("agent.json")
        func write(units: String) throws {
            let text = """
                {"listen": "127.0.0.1:0", "token_file": "\(directory.appendingPathComponent("agent.token").path)",
                 "socket": "\(socket)", "data_dir": "\(directory.appendingPathComponent("data").path)",
                 "tls_dir": "\(directory.appendingPathComponent("tls").path)", "journal": false,
                 "monitored_units": \(units)}
                """
            try text.write(to: config, atomically: true, encoding: .utf8)
        }
        try write(units: "[]")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config.path]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notifyPath
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        #expect(try await onThread { receive(descriptor) }.hasPrefix("READY=1"))

        try write(units: #"["reloaded.service"]"#)
        kill(process.processIdentifier, SIGHUP)
        let reloading = try await onThread { receive(descriptor, until: "RELOADING=1") }
        #expect(reloading.last?.hasPrefix("RELOADING=1") == true, "\(reloading)")
        let reloaded = try await onThread { receive(descriptor, until: "READY=1") }
        #expect(reloaded.last?.hasPrefix("READY=1") == true, "\(reloaded)")
        let events = try await runBinary(["request", "GET", "/v1/events", "--socket", socket])
        #expect(events.stdout.contains(#""kind":"config_reloaded""#), "\(events.stdout)")
        #expect(events.stdout.contains(#""changed":"monitored_units""#), "\(events.stdout)")

        try write(units: "5")
        kill(process.processIdentifier, SIGHUP)
        let refusing = try await onThread { receive(descriptor, until: "RELOADING=1") }
        #expect(refusing.last?.hasPrefix("RELOADING=1") == true, "\(refusing)")
        let refused = try await onThread { receive(descriptor, until: "READY=1") }
        #expect(refused.last?.hasPrefix("READY=1") == true, "\(refused)")
        let after = try await runBinary(["request", "GET", "/v1/events", "--socket", socket])
        #expect(after.stdout.components(separatedBy: "config_reloaded").count == 2, "\(after.stdout)")
        let live = try await runBinary(["request", "GET", "/v1/health/live", "--socket", socket])
        #expect(live.status == 0)
    }

    @Test("request prints the status and the body, and exits 1 for a non-2xx answer")
    func request() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await AgentHarness.with { agent in
            let socket = agent.endpoints.socketPath
            let live = try await runBinary(["request", "GET", "/v1/health/live", "--socket", socket])
            #expect(live.status == 0)
            #expect(live.stdout == "200\n{\"status\":\"live\"}")
            let missing = try await runBinary(["request", "GET", "/v1/nowhere", "--socket", socket])
            #expect(missing.status == 1)
            #expect(missing.stdout.hasPrefix("404\n{\"error\":{\"code\":\"not_found\""))
        }
    }

    private func runBinary(_ arguments: [String]) async throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let text = try await onThread {
            let data = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        return (process.terminationStatus, text)
    }

    @Test("install writes the guest image's data directory into the configuration; serve's default is the agent's own")
    func dataDirectories() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("agent.json").path
        let install = try await runBinary([
            "install", "--no-systemctl", "--config", config, "--unit-path",
            directory.appendingPathComponent("somnus-agent.service").path,
        ])
        #expect(install.status == 0)
        let written = try String(contentsOfFile: config, encoding: .utf8)
        #expect(written.contains("\"data_dir\" : \"/var/lib/somnus\""), "\(written)")
        let help = try await runBinary(["serve", "--help"])
        #expect(help.stdout.contains("/var/lib/somnus-agent"))
    }

    @Test("thaw with nothing frozen prints so and exits 0")
    func thawNothing() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let mounts = directory.appendingPathComponent("mounts")
        try "proc /proc proc rw 0 0\n".write(to: mounts, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["thaw", "--mounts", mounts.path]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let text = try await onThread {
            let data = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(process.terminationStatus == 0)
        #expect(text == "nothing was frozen\n")
    }

    /// Starts `thaw --guard-seconds` as this process's child over a mount table with nothing to thaw; returns it
    /// and how long it took to exit after `act` ran.
    private func guardRun(
        seconds: Int, agentPID: Int32, _ act: (Process) -> Void
    ) async throws -> (Process, Duration) {
        let mounts = directory.appendingPathComponent("mounts")
        try "proc /proc proc rw 0 0\n".write(to: mounts, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "thaw", "--mounts", mounts.path, "--guard-seconds", "\(seconds)", "--agent-pid", "\(agentPID)",
        ]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let reader = stdout.fileHandleForReading
        let ready = try await onThread { String(decoding: reader.availableData, as: UTF8.self) }
        #expect(ready == "ready\n", "a guard says ready once its signals are blocked, then nothing")
        act(process)
        let clock = ContinuousClock()
        let start = clock.now
        let rest = try await onThread {
            let data = reader.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(rest.isEmpty, "a guard writes nothing after ready: \(rest)")
        return (process, clock.now - start)
    }

    @Test("a thaw guard waits for its agent, and thaws at once when the agent is gone, on TERM, or at its deadline")
    func thawGuard() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Not its parent: the agent is gone, so the guard thaws at once.
        let (orphan, orphanTook) = try await guardRun(seconds: 60, agentPID: 1) { _ in }
        #expect(orphan.terminationStatus == 0)
        #expect(orphanTook < .seconds(10))
        // Its parent (this test) alive: it waits until TERM.
        let (terminated, terminatedTook) = try await guardRun(seconds: 60, agentPID: getpid()) { process in
            Thread.sleep(forTimeInterval: 0.5)
            #expect(process.isRunning, "the guard left while its agent was alive")
            process.terminate()
        }
        #expect(terminated.terminationStatus == 0)
        #expect(terminated.terminationReason == .exit)
        #expect(terminatedTook < .seconds(10))
        // Its deadline.
        let (expired, _) = try await guardRun(seconds: 1, agentPID: getpid()) { _ in }
        #expect(expired.terminationStatus == 0)
    }

    @Test("Its constants are linked read-only, so that the pages start-up read of them can be given back")
    func constantsReadOnly() throws {
        // Swift emits some conformance descriptors into writable sections named .rodata; without rodata.ld the
        // linker merges them with every other .rodata into one writable section.
        let flags = try #require(try sectionFlags(named: ".rodata", in: binary))
        let write: UInt64 = 0x1  // SHF_WRITE
        #expect(flags & write == 0, ".rodata of \(binary) is writable: is Guest/SomnusAgent/rodata.ld linked?")
    }
}

private func bindDatagramSocket(_ path: String) throws -> Int32 {
    let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    try #require(bound == 0)
    var timeout = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return descriptor
}

/// Datagrams up to the first that starts with `prefix` (at most 5, and "" for each 20 s timeout), so that a
/// failure shows what came instead.
private func receive(_ descriptor: Int32, until prefix: String) -> [String] {
    var seen: [String] = []
    while seen.count < 5 {
        let message = receive(descriptor)
        seen.append(message)
        if message.hasPrefix(prefix) || message.isEmpty { break }
    }
    return seen
}

/// The next datagram, or "" after the socket's 20 s timeout. A signal to the test process (SIGCHLD of another
/// test's child) interrupts a receive with a timeout instead of restarting it: receive again then.
private func receive(_ descriptor: Int32) -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    var count = recv(descriptor, &buffer, buffer.count, 0)
    while count < 0 && errno == EINTR {
        count = recv(descriptor, &buffer, buffer.count, 0)
    }
    return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""

}

/// The `sh_flags` of the section named `name` in a 64-bit little-endian ELF file, or nil when it has none.
private func sectionFlags(named name: String, in path: String) throws -> UInt64? {
    let file = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        file.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
    try #require(file.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]) && file[4] == 2 && file[5] == 1)
    let table = Int(integer(UInt64.self, at: 0x28))
    let entrySize = Int(integer(UInt16.self, at: 0x3a))
    let count = Int(integer(UInt16.self, at: 0x3c))
    let names = Int(integer(UInt64.self, at: table + Int(integer(UInt16.self, at: 0x3e)) * entrySize + 24))
    for index in 0..<count {
        let header = table + index * entrySize
        let start = names + Int(integer(UInt32.self, at: header))
        let end = file[start...].firstIndex(of: 0) ?? file.endIndex
        if String(decoding: file[start..<end], as: UTF8.self) == name {
            return integer(UInt64.self, at: header + 8)
        }
    }
    return nil
}
