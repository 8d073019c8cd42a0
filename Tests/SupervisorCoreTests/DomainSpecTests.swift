import Foundation
import SupervisorCore
import Testing

@Suite("Domain XML")
struct DomainSpecTests {
    func spec(name: String = "demo") -> DomainSpec {
        DomainSpec(
            name: name, uuid: "6f1d3c2e-1111-4222-8333-944455556666", accelerator: .tcg, cpuModel: "qemu64",
            vcpus: 1, maximumVCPUs: 6, memoryMiB: 4096, maximumMemoryMiB: 16384,
            kernelPath: "/var/lib/somnus/images/base/vmlinuz", initrdPath: "/var/lib/somnus/images/base/initrd.img",
            kernelCommandLine: "root=/dev/vda rw console=ttyS0", diskPath: "/var/lib/somnus/vms/demo/disk.qcow2",
            network: "somnus", macAddress: "52:54:00:12:34:56", consoleLogPath: "/var/lib/somnus/vms/demo/console.log")
    }

    @Test("TCG domains use libvirt type qemu, machine q35 and a named CPU model")
    func tcgDomain() {
        let xml = spec().xml()
        #expect(xml.contains("<domain type='qemu'>"))
        #expect(xml.contains("machine='q35'"))
        #expect(xml.contains("<model fallback='allow'>qemu64</model>"))
        #expect(!xml.contains("host-passthrough"))
    }

    @Test("the domain has headroom above the starting vCPUs and memory")
    func headroom() {
        let xml = spec().xml()
        #expect(xml.contains("<vcpu placement='static' current='1'>6</vcpu>"))
        #expect(xml.contains("<memory unit='MiB'>16384</memory>"))
        #expect(xml.contains("<currentMemory unit='MiB'>4096</currentMemory>"))
    }

    @Test("values that look like XML are escaped, so a hostile name cannot inject elements")
    func escaping() {
        let xml = spec(name: "a'b<c>&\"d").xml()
        #expect(xml.contains("<name>a&apos;b&lt;c&gt;&amp;&quot;d</name>"))
        #expect(!xml.contains("<c>"))
    }
}

@Suite("Profiles and names")
struct ProfileTests {
    @Test("the four original profiles are built in with their sizes")
    func builtIn() throws {
        let catalog = try ProfileCatalog()
        #expect(try catalog.profile(named: "idle").vcpus == 1)
        #expect(try catalog.profile(named: "coding").memoryMiB == 8192)
        #expect(try catalog.profile(named: "research").vcpus == 2)
        #expect(try catalog.profile(named: "media_creation").gpu)
        // The headroom covers the profiles a VM can take: media_creation needs a GPU, which VMs never get.
        #expect(catalog.maximumVCPUs == 4)
        #expect(catalog.maximumMemoryMiB == 8192)
    }

    @Test("an unknown profile is refused with the list of known ones")
    func unknownProfile() throws {
        let catalog = try ProfileCatalog()
        let error = #expect(throws: SupervisorError.self) { try catalog.profile(named: "turbo") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("'turbo'") == true)
        #expect(error?.message.contains("idle, coding, research, media_creation") == true)
    }

    @Test("custom profiles join the catalog; duplicates and empty sizes are refused")
    func customProfiles() throws {
        let tiny = ResourceProfile(name: "tiny", vcpus: 1, memoryMiB: 512, summary: "Tests.")
        #expect(try ProfileCatalog(custom: [tiny]).profile(named: "tiny") == tiny)
        let duplicate = #expect(throws: SupervisorError.self) {
            try ProfileCatalog(custom: [ResourceProfile(name: "idle", vcpus: 1, memoryMiB: 512, summary: "")])
        }
        #expect(duplicate?.message.contains("defined twice") == true)
        let empty = #expect(throws: SupervisorError.self) {
            try ProfileCatalog(custom: [ResourceProfile(name: "zero", vcpus: 0, memoryMiB: 512, summary: "")])
        }
        #expect(empty?.code == .invalidArgument)
    }

    @Test("VM names are checked and the bad one is named")
    func names() throws {
        try VMRecord.validate(name: "demo-1")
        for bad in ["", "-x", "Demo", "a b", "x/y", String(repeating: "a", count: 64)] {
            let error = #expect(throws: SupervisorError.self) { try VMRecord.validate(name: bad) }
            #expect(error?.message.contains("'\(bad)'") == true)
        }
    }
}

@Suite("Accelerator probe")
struct AcceleratorTests {
    @Test("no vmx or svm flag means TCG even when the KVM device opens")
    func nestedWithoutFlags() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-accel-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpuinfo = dir.appendingPathComponent("cpuinfo")
        let device = dir.appendingPathComponent("kvm")
        try "flags : fpu sse2 hypervisor\n".write(to: cpuinfo, atomically: true, encoding: .utf8)
        try Data().write(to: device)
        let probe = Accelerator.probe(cpuinfoPath: cpuinfo.path, kvmPath: device.path)
        #expect(probe.accelerator == .tcg)
        #expect(probe.reason.contains("neither vmx nor svm"))

        try "flags : fpu vmx sse2\n".write(to: cpuinfo, atomically: true, encoding: .utf8)
        #expect(Accelerator.probe(cpuinfoPath: cpuinfo.path, kvmPath: device.path).accelerator == .kvm)
    }

    @Test("a missing KVM device means TCG, and the reason names it")
    func missingDevice() {
        let probe = Accelerator.probe(kvmPath: "/nonexistent/kvm")
        #expect(probe.accelerator == .tcg)
        #expect(probe.reason.contains("/nonexistent/kvm"))
    }
}
