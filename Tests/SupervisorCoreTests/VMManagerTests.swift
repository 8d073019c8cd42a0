import Foundation
import Logging
import SupervisorCore
import Testing

/// A state directory with a tiny but real qcow2 base image, on libvirt's in-process test driver.
struct TestHost {
    let root: URL
    let manager: VMManager

    static func make(uri: String = "test:///default", root: URL? = nil) async throws -> TestHost {
        let root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("somnus-vm-\(UUID())")
        let image = root.appendingPathComponent("images/base")
        try FileManager.default.createDirectory(at: image, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: image.appendingPathComponent("manifest.json").path) {
            try Data("kernel".utf8).write(to: image.appendingPathComponent("vmlinuz"))
            try Data("initrd".utf8).write(to: image.appendingPathComponent("initrd.img"))
            let qemuImg = Process()
            qemuImg.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
            qemuImg.arguments = ["create", "-q", "-f", "qcow2", image.appendingPathComponent("rootfs.qcow2").path, "64M"]
            try qemuImg.run()
            qemuImg.waitUntilExit()
            let manifest = """
                {"input_hash":"test","kernel":"vmlinuz","initrd":"initrd.img","disk":"rootfs.qcow2",
                 "cmdline":"root=/dev/vda rw console=ttyS0"}
                """
            try Data(manifest.utf8).write(to: image.appendingPathComponent("manifest.json"))
        }
        let configuration = SupervisorConfiguration(stateDirectory: root.path, libvirtURI: uri, accelerator: .tcg)
        let manager = try await VMManager(configuration: configuration, logger: Logger(label: "test"))
        return TestHost(root: root, manager: manager)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: root)
    }
}

@Suite("VM lifecycle on libvirt's test driver")
struct VMManagerTests {
    @Test("create defines a domain on a qcow2 overlay and records it")
    func create() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let record = try await host.manager.create(name: "alpha")
        #expect(record.profile == "idle")
        #expect(FileManager.default.fileExists(atPath: record.diskPath))
        let status = try await host.manager.status(name: "alpha")
        #expect(status.state == "shut off")
        #expect(try await host.manager.list().map(\.record.name) == ["alpha"])
    }

    @Test("a duplicate name is refused and the first VM's disk is untouched")
    func duplicate() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let first = try await host.manager.create(name: "alpha")
        let before = try FileManager.default.attributesOfItem(atPath: first.diskPath)[.modificationDate] as? Date
        let error = await #expect(throws: SupervisorError.self) { try await host.manager.create(name: "alpha") }
        #expect(error?.code == .alreadyExists)
        #expect(error?.message.contains("'alpha'") == true)
        let after = try FileManager.default.attributesOfItem(atPath: first.diskPath)[.modificationDate] as? Date
        #expect(before == after)
    }

    @Test("a missing base image names the command that builds it")
    func missingImage() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let error = await #expect(throws: SupervisorError.self) {
            try await host.manager.create(name: "beta", imageDirectory: host.root.appendingPathComponent("none").path)
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("somnus image build") == true)
        #expect(try host.manager.inventory.vm(named: "beta") == nil)
    }

    @Test("an unknown VM is reported by name")
    func unknownVM() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let error = await #expect(throws: SupervisorError.self) { try await host.manager.start(name: "ghost") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("'ghost'") == true)
        #expect(error?.isUsageError == true)
    }

    @Test("start runs the domain and a profile applies live within the defined headroom")
    func startAndProfile() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        _ = try await host.manager.create(name: "alpha")
        try await host.manager.start(name: "alpha")
        #expect(try await host.manager.isRunning(name: "alpha"))
        _ = try await host.manager.applyProfile(name: "alpha", profileName: "coding")
        let status = try await host.manager.status(name: "alpha")
        #expect(status.vcpus == 4)
        #expect(status.memoryMiB == 8192)
        #expect(status.record.profile == "coding")
        let error = await #expect(throws: SupervisorError.self) {
            try await host.manager.applyProfile(name: "alpha", profileName: "media_creation")
        }
        #expect(error?.code == .capacity)
        #expect(error?.message.contains("GPU") == true)
    }

    @Test("snapshots are created, listed, reverted and deleted; unknown ones are named")
    func snapshots() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        _ = try await host.manager.create(name: "alpha")
        try await host.manager.start(name: "alpha")
        let snapshot = try await host.manager.createSnapshot(
            vm: "alpha", name: "before-x", description: "it's <fine> & \"quoted\"")
        #expect(!snapshot.quiesced)
        #expect(snapshot.quiesceReason != nil)
        #expect(try host.manager.snapshots(vm: "alpha").map(\.name) == ["before-x"])
        try await host.manager.revertSnapshot(vm: "alpha", name: "before-x")
        let missing = await #expect(throws: SupervisorError.self) {
            try await host.manager.revertSnapshot(vm: "alpha", name: "nope")
        }
        #expect(missing?.message.contains("'nope'") == true)
        try await host.manager.deleteSnapshot(vm: "alpha", name: "before-x")
        #expect(try host.manager.snapshots(vm: "alpha").isEmpty)
    }

    @Test("delete removes a VM that has snapshots: no domain, no disk, no inventory row")
    func deleteWithSnapshots() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let record = try await host.manager.create(name: "alpha")
        try await host.manager.start(name: "alpha")
        _ = try await host.manager.createSnapshot(vm: "alpha", name: "one")
        try await host.manager.delete(name: "alpha")
        #expect(try host.manager.inventory.vm(named: "alpha") == nil)
        #expect(!FileManager.default.fileExists(atPath: record.diskPath))
        let findings = try await Reconciler(manager: host.manager, logger: Logger(label: "test")).reconcile()
        #expect(findings.isEmpty)
    }

    @Test("after a restart that lost libvirt's state, the reconciler reports the missing domain and keeps the row")
    func reconcileAfterRestart() async throws {
        let first = try await TestHost.make()
        defer { first.cleanUp() }
        _ = try await first.manager.create(name: "alpha")
        // A new connection to the test driver starts empty, like a host whose libvirt lost the domain.
        let second = try await TestHost.make(root: first.root)
        let findings = try await Reconciler(manager: second.manager, logger: Logger(label: "test")).reconcile()
        #expect(findings == [ReconcileFinding(kind: .missingDomain, name: "alpha")])
        #expect(try second.manager.inventory.vm(named: "alpha") != nil)
        #expect(try await second.manager.list().first?.state == "missing")
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
