import Foundation
import Glibc
import Systemd
import Testing

/// A datagram socket standing in for systemd's notify socket.
final class NotifySocket {
    let path: String
    let directory: URL
    let descriptor: Int32

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("notify.sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
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
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func receive() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }

    deinit {
        close(descriptor)
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("SystemdNotifier", .serialized)
struct SystemdNotifierTests {
    @Test("Sends READY, STATUS and MAINPID in one datagram to NOTIFY_SOCKET")
    func sendsStates() throws {
        let socket = try NotifySocket()
        setenv("NOTIFY_SOCKET", socket.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let sent = try SystemdNotifier().notify([.ready, .status("serving\non 9901"), .mainPID(42)])
        #expect(sent)
        #expect(socket.receive() == "READY=1\nSTATUS=serving on 9901\nMAINPID=42")
        try SystemdNotifier().notify(.watchdog)
        #expect(socket.receive() == "WATCHDOG=1")
        try SystemdNotifier().notify(.stopping)
        #expect(socket.receive() == "STOPPING=1")
    }

    @Test("Is a no-op returning false when NOTIFY_SOCKET is unset")
    func noSocket() throws {
        unsetenv("NOTIFY_SOCKET")
        #expect(try SystemdNotifier().notify(.ready) == false)
    }

    @Test("Reports the errno and function when NOTIFY_SOCKET points nowhere")
    func missingSocket() throws {
        setenv("NOTIFY_SOCKET", "/nonexistent-somnus/notify.sock", 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let error = try #require(throws: SystemdError.self) { try SystemdNotifier().notify(.ready) }
        #expect(error.function == "sd_notify")
        #expect(error.errno == ENOENT)
        #expect(error.message.contains("No such file"))
        #expect(error.description.contains("sd_notify"))
    }

    @Test("Reads the watchdog interval from WATCHDOG_USEC")
    func watchdogInterval() throws {
        setenv("WATCHDOG_USEC", "30000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        defer {
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        #expect(try SystemdNotifier().watchdogInterval() == .seconds(30))
    }

    @Test("Has no watchdog interval when WATCHDOG_USEC is unset or for another process")
    func noWatchdog() throws {
        unsetenv("WATCHDOG_USEC")
        #expect(try SystemdNotifier().watchdogInterval() == nil)
        setenv("WATCHDOG_USEC", "30000000", 1)
        setenv("WATCHDOG_PID", "1", 1)
        defer {
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        #expect(try SystemdNotifier().watchdogInterval() == nil)
    }

    @Test("Rejects a malformed WATCHDOG_USEC with EINVAL")
    func badWatchdog() throws {
        setenv("WATCHDOG_USEC", "soon", 1)
        defer { unsetenv("WATCHDOG_USEC") }
        let error = try #require(throws: SystemdError.self) { try SystemdNotifier().watchdogInterval() }
        #expect(error.errno == EINVAL)
        #expect(error.function == "sd_watchdog_enabled")
    }
}
