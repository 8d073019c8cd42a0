import Foundation
import SupervisorCore
import Testing

@Suite("Host keys pinned from the serial console")
struct HostKeyPinTests {
    let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIBvQ2Zr6m8m0bXyWmE2Yx0k1n3wV7cQ5x5m3N7f8aB1c"
    let ec = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA=="
    let other = "AAAAC3NzaC1lZDI1NTE5AAAAIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"

    @Test("the first boot's lines are the pin; a later boot's re-print is ignored")
    func firstBootOnly() {
        let console = """
            [    0.000] Linux version 6.1\r
            SOMNUS-SSH-HOST-KEY ssh-ed25519 \(ed)\r
            SOMNUS-SSH-HOST-KEY ecdsa-sha2-nistp256 \(ec)\r
            login: \r
            SOMNUS-SSH-HOST-KEY ssh-ed25519 \(other)\r
            SOMNUS-SSH-HOST-KEY bogus-type \(other)\r
            """
        let keys = HostKeyPin.firstBootKeys(consoleLog: console)
        #expect(keys.map(\.type) == ["ssh-ed25519", "ecdsa-sha2-nistp256"])
        #expect(keys.map(\.base64) == [ed, ec])
    }

    @Test("lines that are not exactly the marker, a known type and base64 are ignored")
    func junkIgnored() {
        let console = """
            echo SOMNUS-SSH-HOST-KEY ssh-ed25519 \(other)
            SOMNUS-SSH-HOST-KEY ssh-ed25519 not*base64
            SOMNUS-SSH-HOST-KEY ssh-dss \(other)
            """
        #expect(HostKeyPin.firstBootKeys(consoleLog: console).isEmpty)
    }

    @Test("an existing pin is only re-addressed: the console's later keys never replace it")
    func existingPinKept() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-pin-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let knownHosts = directory.appendingPathComponent("known_hosts").path
        let console = directory.appendingPathComponent("console.log").path

        #expect(
            try HostKeyPin.prepare(knownHostsPath: knownHosts, consoleLogPath: console, host: "10.0.0.5", port: 22)
                == nil)
        try Data("SOMNUS-SSH-HOST-KEY ssh-ed25519 \(ed)\r\n".utf8).write(to: URL(fileURLWithPath: console))
        let pin = try #require(
            try HostKeyPin.prepare(knownHostsPath: knownHosts, consoleLogPath: console, host: "10.0.0.5", port: 22))
        #expect(pin.keys.map(\.base64) == [ed])
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == "10.0.0.5 ssh-ed25519 \(ed)\n")

        // The guest rewrites its console log with another key; the VM moves to another address.
        try Data("SOMNUS-SSH-HOST-KEY ssh-ed25519 \(other)\r\n".utf8).write(to: URL(fileURLWithPath: console))
        let again = try #require(
            try HostKeyPin.prepare(knownHostsPath: knownHosts, consoleLogPath: console, host: "10.0.0.9", port: 2222))
        #expect(again.keys.map(\.base64) == [ed])
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == "[10.0.0.9]:2222 ssh-ed25519 \(ed)\n")
    }
}
