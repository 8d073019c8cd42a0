import Foundation
import Libvirt
import Logging
import SupervisorCore
import Testing

/// A state directory with a tiny but real qcow2 base image, on libvirt's in-process test driver.
struct TestHost {
    let root: URL
    let manager: VMManager

    /// A manager on `uri` with its state in a new temporary directory. `agentRequestTimeout` is the deadline of each
    /// request to an agent; tests that drive real agents through whole workflows give a loaded machine more.
    static func make(
        uri: String = "test:///default", root: URL? = nil, network: String = "somnus",
        agentRequestTimeout: Duration = .seconds(2)
    ) async throws -> TestHost {
        let root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("somnus-vm-\(UUID())")
        let image = root.appendingPathComponent("images/base")
        try FileManager.default.createDirectory(at: image, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: image.appendingPathComponent("manifest.json").path) {
            try Data("kernel".utf8).write(to: image.appendingPathComponent("vmlinuz"))
            try Data("initrd".utf8).write(to: image.appendingPathComponent("initrd.img"))
            let qemuImg = Process()
            qemuImg.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
            qemuImg.arguments = [
                "create", "-q", "-f", "qcow2", image.appendingPathComponent("rootfs.qcow2").path, "64M",
            ]
            try qemuImg.run()
            qemuImg.waitUntilExit()
            let manifest = """
                {"inputHash":"test","kernel":"vmlinuz","initrd":"initrd.img","disk":"rootfs.qcow2",
                 "kernelCommandLine":"root=/dev/vda rw console=ttyS0"}
                """
            try Data(manifest.utf8).write(to: image.appendingPathComponent("manifest.json"))
        }
        let small = ResourceProfile(name: "small", vcpus: 2, memoryMiB: 2048, summary: "Fits the test driver's host.")
        let configuration = SupervisorConfiguration(
            stateDirectory: root.path, libvirtURI: uri, accelerator: .tcg, network: network,
            agentRequestTimeout: agentRequestTimeout, customProfiles: [small])
        let manager = try await VMManager(configuration: configuration, logger: Logger(label: "test"))
        return TestHost(root: root, manager: manager)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: root)
    }
}

/// A VM name no other test uses: every open connection to `test:///default` shares one state.
func uniqueName(_ prefix: String) -> String {
    prefix + "-" + UUID().uuidString.prefix(8).lowercased()
}

@Suite("VM lifecycle on libvirt's test driver")
struct VMManagerTests {
    @Test("create defines a domain on a qcow2 overlay and records it")
    func create() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        let record = try await host.manager.create(name: name)
        #expect(record.profile == "idle")
        #expect(FileManager.default.fileExists(atPath: record.diskPath))
        let status = try await host.manager.status(name: name)
        #expect(status.state == "shut off")
        #expect(try await host.manager.list().map(\.record.name) == [name])
    }

    @Test("a TCG guest boots with the image's command line and its mitigations off")
    func tcgCommandLine() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        _ = try await host.manager.create(name: name)
        let xml = try VirConnection(uri: "test:///default").lookupDomain(name: name).xmlDescription(flags: .inactive)
        #expect(xml.contains("<cmdline>root=/dev/vda rw console=ttyS0 mitigations=off</cmdline>"), "\(xml)")
        #expect(Accelerator.kvm.kernelArguments.isEmpty)
    }

    @Test("a duplicate name is refused and the first VM's disk is untouched")
    func duplicate() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        let first = try await host.manager.create(name: name)
        let before = try FileManager.default.attributesOfItem(atPath: first.diskPath)[.modificationDate] as? Date
        let error = await #expect(throws: SupervisorError.self) { try await host.manager.create(name: name) }
        #expect(error?.code == .alreadyExists)
        #expect(error?.message.contains("'\(name)'") == true)
        let after = try FileManager.default.attributesOfItem(atPath: first.diskPath)[.modificationDate] as? Date
        #expect(before == after)
    }

    @Test("a missing base image names the command that builds it")
    func missingImage() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        let error = await #expect(throws: SupervisorError.self) {
            try await host.manager.create(name: name, imageDirectory: host.root.appendingPathComponent("none").path)
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("somnus image build") == true)
        #expect(try host.manager.inventory.vm(named: name) == nil)
    }

    @Test("an unknown VM is reported by name")
    func unknownVM() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        let error = await #expect(throws: SupervisorError.self) { try await host.manager.start(name: name) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("'\(name)'") == true)
        #expect(error?.isUsageError == true)
    }

    @Test("start runs the domain and a profile applies live within the defined headroom")
    func startAndProfile() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        _ = try await host.manager.create(name: name)
        try await host.manager.start(name: name)
        #expect(try await host.manager.isRunning(name: name))
        _ = try await host.manager.applyProfile(name: name, profileName: "small")
        let status = try await host.manager.status(name: name)
        #expect(status.vcpus == 2)
        #expect(status.memoryMiB == 2048)
        #expect(status.record.profile == "small")
        // The test driver's host has 3 GiB: a bigger profile is refused with the numbers.
        let tooBig = await #expect(throws: SupervisorError.self) {
            try await host.manager.applyProfile(name: name, profileName: "coding")
        }
        #expect(tooBig?.code == .capacity)
        #expect(tooBig?.message.contains("8192 MiB") == true)
        #expect(tooBig?.message.contains("3072 MiB") == true)
        let gpu = await #expect(throws: SupervisorError.self) {
            try await host.manager.applyProfile(name: name, profileName: "media_creation")
        }
        #expect(gpu?.code == .capacity)
        #expect(gpu?.message.contains("GPU") == true)
        #expect(try host.manager.record(name).profile == "small")
    }

    @Test("snapshots are created, listed, reverted and deleted; unknown ones are named")
    func snapshots() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        _ = try await host.manager.create(name: name)
        try await host.manager.start(name: name)
        let snapshot = try await host.manager.createSnapshot(
            vm: name, name: "before-x", description: "it's <fine> & \"quoted\"")
        #expect(!snapshot.quiesced)
        #expect(snapshot.quiesceReason != nil)
        #expect(try host.manager.snapshots(vm: name).map(\.name) == ["before-x"])
        try await host.manager.revertSnapshot(vm: name, name: "before-x")
        let missing = await #expect(throws: SupervisorError.self) {
            try await host.manager.revertSnapshot(vm: name, name: "nope")
        }
        #expect(missing?.message.contains("'nope'") == true)
        try await host.manager.deleteSnapshot(vm: name, name: "before-x")
        #expect(try host.manager.snapshots(vm: name).isEmpty)
    }

    @Test("delete removes a VM that has snapshots: no domain, no disk, no inventory row")
    func deleteWithSnapshots() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        let record = try await host.manager.create(name: name)
        try await host.manager.start(name: name)
        _ = try await host.manager.createSnapshot(vm: name, name: "one")
        try await host.manager.delete(name: name)
        #expect(try host.manager.inventory.vm(named: name) == nil)
        #expect(!FileManager.default.fileExists(atPath: record.diskPath))
        let findings = try await Reconciler(manager: host.manager, logger: Logger(label: "test")).reconcile()
        #expect(findings.isEmpty)
    }

    @Test("when libvirt lost a domain, the reconciler reports it and keeps the inventory row")
    func reconcileAfterLoss() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("vm")
        _ = try await host.manager.create(name: name)
        // Another client removes the domain behind the supervisor's back, as a libvirt restart that lost it would.
        try VirConnection(uri: "test:///default").lookupDomain(name: name).undefineRemovingMetadata()
        let findings = try await Reconciler(manager: host.manager, logger: Logger(label: "test")).reconcile()
        #expect(findings == [ReconcileFinding(kind: .missingDomain, name: name)])
        #expect(try host.manager.inventory.vm(named: name) != nil)
        #expect(try await host.manager.list().first?.state == "missing")
    }

    @Test("an unreachable libvirt is reported with how to start it")
    func libvirtUnreachable() async throws {
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await TestHost.make(uri: "qemu+unix:///system?socket=/nonexistent/libvirt-sock")
        }
        #expect(error?.code == .libvirtUnavailable)
        #expect(error?.message.contains("setup-host.sh") == true)
    }
}
