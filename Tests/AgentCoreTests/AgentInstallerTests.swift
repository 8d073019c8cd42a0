import AgentBasics
import AgentCore
import Foundation
import Testing

@Suite("AgentInstaller")
struct AgentInstallerTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("install-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A script standing in for a system program that appends its arguments, one call per line, to a file.
    /// - Returns: The script's path and the file's.
    private func recordingProgram(_ name: String) throws -> (program: String, calls: String) {
        let calls = directory.appendingPathComponent(name + ".calls").path
        let program = directory.appendingPathComponent(name).path
        try "#!/bin/sh\necho \"$@\" >> '\(calls)'\n".write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        return (program, calls)
    }

    @Test("The embedded unit equals the one the guest image ships")
    func unitMatchesRepository() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(
            contentsOf: repository.appendingPathComponent("Images/rootfs/etc/systemd/system/somnus-agent.service"),
            encoding: .utf8
        )
        #expect(AgentInstaller.unitFileText == file)
        for line in [
            "Type=notify", "NotifyAccess=main", "ExecStart=/usr/local/bin/somnus-agent serve", "WatchdogSec=30",
            "Restart=on-failure", "RestartSec=1", "OOMScoreAdjust=-500", "MemoryHigh=160M", "MemoryMin=16M",
            "Environment=MALLOC_ARENA_MAX=2",
        ] {
            #expect(file.split(separator: "\n").contains(Substring(line)), "\(line)")
        }
    }

    @Test("Writes the unit and a configuration, and keeps an existing configuration")
    func writesFiles() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let unit = directory.appendingPathComponent("systemd/somnus-agent.service").path
        let config = directory.appendingPathComponent("somnus/agent.json").path
        let installer = AgentInstaller(unitPath: unit, configurationPath: config, systemctl: nil)
        var configuration = try AgentConfiguration().applying(.init(listen: "0.0.0.0:9911", tokenFile: "/tok"))
        #expect(try await installer.install(configuration: configuration))
        configuration.logFiles = AgentInstaller.defaultLogFiles
        #expect(try String(contentsOfFile: unit, encoding: .utf8) == AgentInstaller.unitFileText)
        #expect(try AgentConfiguration.load(path: config) == configuration)
        #expect(try await installer.install(configuration: AgentConfiguration()) == false)
        #expect(try AgentConfiguration.load(path: config) == configuration)
    }

    @Test("A failing systemctl is reported with the command")
    func systemctlFails() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let installer = AgentInstaller(
            unitPath: directory.appendingPathComponent("u.service").path,
            configurationPath: directory.appendingPathComponent("a.json").path,
            systemctl: "/bin/false"
        )
        let error = try await #require(throws: AgentError.self) {
            try await installer.install(configuration: AgentConfiguration())
        }
        #expect(error.code == .commandFailed)
        #expect(error.message == "/bin/false daemon-reload failed: exited(1)")
    }

    @Test("An unwritable unit path is reported naming the file")
    func unwritable() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let blocker = directory.appendingPathComponent("file")
        try "x".write(to: blocker, atomically: true, encoding: .utf8)
        let installer = AgentInstaller(
            unitPath: blocker.appendingPathComponent("u.service").path,
            configurationPath: directory.appendingPathComponent("a.json").path,
            systemctl: nil
        )
        let error = try await #require(throws: AgentError.self) {
            try await installer.install(configuration: AgentConfiguration())
        }
        #expect(error.code == .io)
        #expect(error.message == "cannot write \(blocker.path)/u.service")
    }

    @Test("Creates the socket's system group only when it is missing")
    func createsGroup() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (groupadd, calls) = try recordingProgram("groupadd")
        for group in ["no-such-group-17", "root"] {
            let installer = AgentInstaller(
                unitPath: directory.appendingPathComponent("u.service").path,
                configurationPath: directory.appendingPathComponent("a.json").path,
                systemctl: nil, socketGroup: group, groupadd: groupadd)
            try await installer.install(configuration: AgentConfiguration())
        }
        #expect(try String(contentsOfFile: calls, encoding: .utf8) == "--system no-such-group-17\n")
    }

    @Test("systemd is reloaded only when the unit changed and the unit enabled only when it is not")
    func systemctlCalls() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        // systemctl cannot run without systemd as PID 1 here; a script records what it is asked (the real one
        // runs in the end-to-end suite's guest).
        let (systemctl, calls) = try recordingProgram("systemctl")
        let unit = directory.appendingPathComponent("system/somnus-agent.service").path
        let installer = AgentInstaller(
            unitPath: unit, configurationPath: directory.appendingPathComponent("a.json").path,
            systemctl: systemctl)
        func install() async throws -> [String] {
            try? FileManager.default.removeItem(atPath: calls)
            try await installer.install(configuration: AgentConfiguration())
            return try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").map(String.init)
        }

        // A guest without the unit: written, reloaded, enabled, started.
        #expect(
            try await install() == [
                "daemon-reload", "--no-reload enable somnus-agent.service", "restart somnus-agent.service",
            ])
        // The unit as the guest image ships it, enabled: only restarted.
        let wants = directory.appendingPathComponent("system/multi-user.target.wants")
        try FileManager.default.createDirectory(at: wants, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: wants.appendingPathComponent("somnus-agent.service").path, withDestinationPath: unit)
        #expect(try await install() == ["restart somnus-agent.service"])
        // An older unit: rewritten and reloaded.
        try "[Unit]\n".write(toFile: unit, atomically: true, encoding: .utf8)
        #expect(try await install() == ["daemon-reload", "restart somnus-agent.service"])
        #expect(try String(contentsOfFile: unit, encoding: .utf8) == AgentInstaller.unitFileText)
    }

    @Test("The unit thaws after every stop, keeps files private and leaves room for connections")
    func unitHardening() {
        let text = AgentInstaller.unitFileText
        for line in [
            "ExecStopPost=/usr/local/bin/somnus-agent thaw", "StateDirectoryMode=0700", "UMask=0077",
            "LimitNOFILE=65536",
        ] {
            #expect(text.contains("\n\(line)\n"), "\(line)")
        }
    }
}
