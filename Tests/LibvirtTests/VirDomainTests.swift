import Foundation
import Libvirt
import Testing

@Suite("VirDomain")
struct VirDomainTests {
    @Test("defines a domain and finds it by name, UUID and in the list")
    func defineAndLookup() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("lookup")
        let uuid = UUID()
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name, uuid: uuid))
        #expect(try domain.name() == name)
        #expect(try domain.uuid() == uuid)
        #expect(try domain.uuidString() == uuid.uuidString.lowercased())
        #expect(try domain.isPersistent())
        #expect(try !domain.isActive())
        #expect(domain.id == nil)

        #expect(try connection.lookupDomain(name: name).uuid() == uuid)
        #expect(try connection.lookupDomain(uuid: uuid).name() == name)
        #expect(try connection.lookupDomain(uuidString: uuid.uuidString).name() == name)
        let names = try connection.listAllDomains().map { try $0.name() }
        #expect(names.contains(name))
        let inactive = try connection.listAllDomains(flags: .inactive).map { try $0.name() }
        #expect(inactive.contains(name))
        try domain.undefine(flags: [])
    }

    @Test("starts, shuts down and destroys with matching state transitions")
    func lifecycle() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("life")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        #expect(try domain.state() == .shutOff)

        try domain.create()
        #expect(try domain.state() == .running)
        #expect(try domain.isActive())
        #expect(domain.id != nil)
        let running = try connection.listAllDomains(flags: .active).map { try $0.name() }
        #expect(running.contains(name))

        try domain.suspend()
        #expect(try domain.state() == .paused)
        try domain.resume()
        #expect(try domain.state() == .running)

        try domain.shutdown()
        #expect(try domain.state() == .shutOff)

        try domain.create()
        try domain.destroy()
        #expect(try domain.state() == .shutOff)
        try domain.undefineRemovingMetadata()
    }

    @Test("reports info with state, vCPUs, memory and CPU time")
    func info() throws {
        let connection = try Fixtures.open()
        let domain = try connection.defineDomain(
            xml: Fixtures.domainXML(
                name: Fixtures.uniqueName("info"),
                maxMemoryKiB: 2_097_152,
                memoryKiB: 1_048_576,
                maxVCPUs: 4,
                vcpus: 2
            )
        )
        try domain.create()
        let info = try domain.info()
        #expect(info.state == .running)
        #expect(info.maxMemoryKiB == 2_097_152)
        #expect(info.memoryKiB == 1_048_576)
        #expect(info.vcpuCount == 2)
        #expect(info.cpuTime >= .zero)
        #expect(try domain.maxMemoryKiB() == 2_097_152)
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("round-trips its XML through define")
    func xmlRoundTrip() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("xml")
        let uuid = UUID()
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name, uuid: uuid))
        let xml = try domain.xmlDescription(flags: .inactive)
        #expect(xml.contains("<name>\(name)</name>"))
        #expect(xml.contains(uuid.uuidString.lowercased()))

        let redefined = try connection.defineDomain(xml: xml)
        #expect(try redefined.uuid() == uuid)
        #expect(try redefined.xmlDescription(flags: .inactive) == xml)
        try redefined.undefine(flags: [])
    }

    @Test("sets vCPUs live and in the configuration")
    func setVCPUs() throws {
        let connection = try Fixtures.open()
        let domain = try connection.defineDomain(
            xml: Fixtures.domainXML(name: Fixtures.uniqueName("vcpu"), maxVCPUs: 4, vcpus: 1)
        )
        try domain.create()
        try domain.setVCPUs(3, flags: [.live, .config])
        #expect(try domain.vcpuCount(flags: .live) == 3)
        #expect(try domain.vcpuCount(flags: .config) == 3)
        #expect(try domain.info().vcpuCount == 3)
        #expect(try domain.vcpuCount(flags: [.config, .maximum]) == 4)

        try domain.setVCPUs(2, flags: .live)
        #expect(try domain.vcpuCount(flags: .live) == 2)
        #expect(try domain.vcpuCount(flags: .config) == 3)

        let error = try #require(throws: VirError.self) {
            try domain.setVCPUs(8, flags: .live)
        }
        #expect(error.function == "virDomainSetVcpusFlags")
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("8"))
        try domain.destroy()

        try domain.setVCPUs(6, flags: [.config, .maximum])
        #expect(try domain.vcpuCount(flags: [.config, .maximum]) == 6)
        try domain.undefineRemovingMetadata()
    }

    @Test("sets memory live and in the configuration, and the maximum")
    func setMemory() throws {
        let connection = try Fixtures.open()
        let domain = try connection.defineDomain(
            xml: Fixtures.domainXML(name: Fixtures.uniqueName("mem"), maxMemoryKiB: 2_097_152, memoryKiB: 524_288)
        )
        try domain.create()
        // The test driver rejects .live and .config together, so apply them one at a time.
        try domain.setMemory(kibibytes: 1_048_576, flags: .live)
        try domain.setMemory(kibibytes: 1_048_576, flags: .config)
        #expect(try domain.info().memoryKiB == 1_048_576)
        #expect(
            try domain.xmlDescription(flags: .inactive).contains("<currentMemory unit='KiB'>1048576</currentMemory>"))

        let error = try #require(throws: VirError.self) {
            try domain.setMemory(kibibytes: 4_194_304, flags: .live)
        }
        #expect(error.function == "virDomainSetMemoryFlags")
        #expect(error.code == .invalidArgument)
        try domain.destroy()

        try domain.setMemory(kibibytes: 3_145_728, flags: [.config, .maximum])
        #expect(try domain.maxMemoryKiB() == 3_145_728)
        try domain.undefineRemovingMetadata()
    }

    @Test("reports interface addresses from the lease source")
    func interfaceAddresses() throws {
        let connection = try Fixtures.open()
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("ifaddr")))
        try domain.create()
        for source in [VirInterfaceAddressSource.lease, .agent] {
            let interfaces = try domain.interfaceAddresses(source: source)
            let interface = try #require(interfaces.first)
            #expect(interface.hardwareAddress == "52:54:00:12:34:56")
            let address = try #require(interface.addresses.first)
            #expect(address.family == .ipv4)
            #expect(!address.address.isEmpty)
        }
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("creates a transient domain that disappears when destroyed")
    func transient() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("temp")
        let domain = try connection.createTransientDomain(xml: Fixtures.domainXML(name: name))
        #expect(try domain.state() == .running)
        #expect(try !domain.isPersistent())
        #expect(try connection.listAllDomains(flags: .transient).map { try $0.name() }.contains(name))
        try domain.destroy()
        let error = try #require(throws: VirError.self) { try connection.lookupDomain(name: name) }
        #expect(error.code == .noDomain)
        #expect(error.message.contains(name))
    }

    @Test("toggles autostart")
    func autostart() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("auto")))
        #expect(try !domain.autostart())
        try domain.setAutostart(true)
        #expect(try domain.autostart())
        try domain.undefineRemovingMetadata()
    }

    @Test("undefine removes a running domain's definition so it becomes transient")
    func undefineRunning() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("transient")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        try domain.create()
        let applied = try domain.undefineRemovingMetadata()
        #expect(applied.contains(.snapshotsMetadata))
        #expect(try !domain.isPersistent())
        try domain.destroy()
        let error = try #require(throws: VirError.self) { try connection.lookupDomain(name: name) }
        #expect(error.code == .noDomain)
    }
}

@Suite("VirDomain failures")
struct VirDomainFailureTests {
    @Test("looking up an unknown name fails with noDomain naming the domain")
    func unknownName() throws {
        let name = Fixtures.uniqueName("ghost")
        let error = try #require(throws: VirError.self) { try Fixtures.open().lookupDomain(name: name) }
        #expect(error.code == .noDomain)
        #expect(error.function == "virDomainLookupByName")
        #expect(error.message.contains(name))
    }

    @Test("looking up an unknown UUID fails with noDomain")
    func unknownUUID() throws {
        let uuid = UUID()
        let error = try #require(throws: VirError.self) { try Fixtures.open().lookupDomain(uuid: uuid) }
        #expect(error.code == .noDomain)
        #expect(error.function == "virDomainLookupByUUIDString")
        #expect(error.message.contains(uuid.uuidString.lowercased()))
    }

    @Test("a malformed UUID string fails with invalidArgument")
    func malformedUUID() throws {
        let error = try #require(throws: VirError.self) {
            try Fixtures.open().lookupDomain(uuidString: "not-a-uuid")
        }
        #expect(error.code == .invalidArgument)
        #expect(error.function == "virDomainLookupByUUIDString")
    }

    @Test("malformed XML fails with xmlError")
    func badXML() throws {
        let error = try #require(throws: VirError.self) {
            try Fixtures.open().defineDomain(xml: "<domain type='test'><name>broken</name")
        }
        #expect(error.code == .xmlError || error.code == .xmlDetail)
        #expect(error.function == "virDomainDefineXMLFlags")
        #expect(!error.message.isEmpty)
    }

    @Test("XML missing required elements fails naming what is missing")
    func incompleteXML() throws {
        let error = try #require(throws: VirError.self) {
            try Fixtures.open().defineDomain(xml: "<domain type='test'><name>no-memory</name></domain>")
        }
        #expect(error.function == "virDomainDefineXMLFlags")
        #expect(error.message.contains("os") || error.message.contains("memory"))
    }

    @Test("redefining a running domain's name with another UUID fails naming both")
    func duplicateDefine() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("dup")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        try domain.create()
        let error = try #require(throws: VirError.self) {
            try connection.defineDomain(xml: Fixtures.domainXML(name: name, uuid: UUID()))
        }
        #expect(error.code == .operationFailed)
        #expect(error.message.contains(name))
        #expect(error.message.contains("already"))
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("starting a running domain fails with operationInvalid")
    func startTwice() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("twice")))
        try domain.create()
        let error = try #require(throws: VirError.self) { try domain.create() }
        #expect(error.function == "virDomainCreateWithFlags")
        #expect(error.message.contains("already running"))
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("destroying a stopped domain fails with operationInvalid")
    func destroyStopped() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("stopped")))
        let error = try #require(throws: VirError.self) { try domain.destroy() }
        #expect(error.code == .operationInvalid)
        #expect(error.function == "virDomainDestroyFlags")
        #expect(error.message.contains("not running"))
        try domain.undefineRemovingMetadata()
    }

    @Test("a handle to an undefined domain fails with noDomain")
    func staleHandle() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("stale")))
        try domain.undefine(flags: [])
        let error = try #require(throws: VirError.self) { try domain.state() }
        #expect(error.code == .noDomain)
        #expect(error.function == "virDomainGetState")
    }

    @Test("unsupported undefine flags are reported by exact undefine and dropped by the fallback")
    func undefineFallback() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("flags")))
        let error = try #require(throws: VirError.self) { try domain.undefine(flags: .removeAll) }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("unsupported flags"))
        let applied = try domain.undefineRemovingMetadata()
        #expect(applied.contains(.snapshotsMetadata))
        #expect(applied != .removeAll)
        #expect(applied.isSubset(of: .removeAll))
        let gone = try #require(throws: VirError.self) { try domain.state() }
        #expect(gone.code == .noDomain)
    }

    @Test("start flags the driver does not support fail with invalidArgument naming the flags")
    func unsupportedStartFlags() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("paused")))
        let error = try #require(throws: VirError.self) { try domain.create(flags: .paused) }
        #expect(error.code == .invalidArgument)
        #expect(error.function == "virDomainCreateWithFlags")
        #expect(error.message.contains("unsupported flags (0x1)"))
        try domain.undefineRemovingMetadata()
    }

    @Test("setting live and config memory together on the test driver fails naming both flags")
    func exclusiveMemoryFlags() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("excl")))
        try domain.create()
        let error = try #require(throws: VirError.self) {
            try domain.setMemory(kibibytes: 262_144, flags: [.live, .config])
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("VIR_DOMAIN_AFFECT_LIVE"))
        #expect(error.message.contains("VIR_DOMAIN_AFFECT_CONFIG"))
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("negative sizes are rejected before calling libvirt")
    func negativeSizes() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("neg")))
        let vcpus = try #require(throws: VirError.self) { try domain.setVCPUs(-1) }
        #expect(vcpus.code == .invalidArgument)
        #expect(vcpus.message == "vCPU count -1 is out of range")
        let memory = try #require(throws: VirError.self) { try domain.setMemory(kibibytes: -5) }
        #expect(memory.code == .invalidArgument)
        #expect(memory.message == "memory size -5 KiB is out of range")
        try domain.undefineRemovingMetadata()
    }

    @Test("interface addresses of a stopped domain fail with operationInvalid")
    func addressesStopped() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("noaddr")))
        let error = try #require(throws: VirError.self) { try domain.interfaceAddresses(source: .agent) }
        #expect(error.code == .operationInvalid)
        #expect(error.function == "virDomainInterfaceAddresses")
        try domain.undefineRemovingMetadata()
    }
}
