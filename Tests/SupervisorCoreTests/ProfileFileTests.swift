import Foundation
import Logging
import SupervisorCore
import Testing

@Suite("Custom profiles from a file")
struct ProfileFileTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("profiles-\(UUID()).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a valid file adds its profiles beside the built-in ones")
    func valid() throws {
        let path = try write(
            #"{"build": {"vcpus": 2, "memory_mib": 3072}, "render": {"vcpus": 1, "memory_mib": 512, "gpu": true, "summary": "r"}}"#
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let custom = try ProfileCatalog.loadCustomProfiles(file: path)
        #expect(custom.map(\.name) == ["build", "render"])
        #expect(
            custom[0]
                == ResourceProfile(name: "build", vcpus: 2, memoryMiB: 3072, summary: "Custom profile from \(path)."))
        #expect(custom[1].gpu)
        let catalog = try ProfileCatalog(custom: custom)
        #expect(try catalog.profile(named: "build").memoryMiB == 3072)
        #expect(try catalog.profile(named: "coding").vcpus == 4)
    }

    @Test(
        "each mistake is refused naming the file, the profile and the field",
        arguments: [
            (#"{"p": {"memory_mib": 512}}"#, "profile 'p': field 'vcpus' is missing"),
            (#"{"p": {"vcpus": "2", "memory_mib": 512}}"#, "profile 'p': field 'vcpus' must be an integer in 1...256"),
            (
                #"{"p": {"vcpus": 2, "memory_mib": 100}}"#,
                "field 'memory_mib' must be an integer in 256...4194304, got 100"
            ),
            (#"{"p": {"vcpus": 2, "memory_mib": 512, "gpu": "yes"}}"#, "field 'gpu' must be true or false"),
            (#"{"p": {"vcpus": 2, "memory_mib": 512, "cpus": 4}}"#, "unknown field 'cpus'"),
            (#"{"Bad Name": {"vcpus": 2, "memory_mib": 512}}"#, "profile 'Bad Name': the name must be"),
            (#"[1, 2]"#, "the top level must be an object"),
            (#"{"p": "#, "is not valid JSON"),
        ])
    func invalid(text: String, expected: String) throws {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: SupervisorError.self) { try ProfileCatalog.loadCustomProfiles(file: path) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(path) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("a missing file is named")
    func missing() {
        let error = #expect(throws: SupervisorError.self) {
            try ProfileCatalog.loadCustomProfiles(file: "/nonexistent/profiles.json")
        }
        #expect(error?.message.contains("/nonexistent/profiles.json") == true)
    }

    @Test("a custom profile name that repeats a built-in one is refused")
    func duplicateOfBuiltIn() throws {
        let path = try write(#"{"coding": {"vcpus": 2, "memory_mib": 512}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: SupervisorError.self) {
            try ProfileCatalog(custom: try ProfileCatalog.loadCustomProfiles(file: path))
        }
        #expect(error?.message.contains("'coding' is defined twice") == true)
    }

    @Test("applying a custom profile beyond the host's memory is refused with both numbers")
    func beyondCapacity() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let huge = ResourceProfile(name: "huge", vcpus: 2, memoryMiB: 1_000_000, summary: "Too big.")
        let manager = try await VMManager(
            configuration: SupervisorConfiguration(
                stateDirectory: host.root.path, libvirtURI: "test:///default", accelerator: .tcg,
                customProfiles: [huge, ResourceProfile(name: "small", vcpus: 1, memoryMiB: 1024, summary: "s")]),
            logger: Logger(label: "test"))
        let name = uniqueName("big")
        _ = try await manager.create(name: name, profileName: "small")
        defer { Task { try? await manager.delete(name: name) } }
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await manager.applyProfile(name: name, profileName: "huge")
        }
        #expect(error?.code == .capacity)
        #expect(error?.message.contains("1000000 MiB") == true)
        #expect(error?.message.contains("3072 MiB") == true)
        #expect(try manager.record(name).profile == "small")
    }
}
