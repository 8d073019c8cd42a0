import Foundation
import Libvirt
import Testing

@Suite("VirConnection")
struct VirConnectionTests {
    @Test("opens the test driver and reports its URI, version and host")
    func openTestDriver() throws {
        let connection = try Fixtures.open()
        #expect(try connection.uri() == Fixtures.testURI)
        #expect(try connection.isAlive())
        #expect(try connection.libraryVersion().hasPrefix("9."))
        #expect(try !connection.hostname().isEmpty)
    }

    @Test("opens a read-only connection that can read but not define")
    func readOnly() throws {
        let connection = try VirConnection(uri: Fixtures.testURI, readOnly: true)
        #expect(try !connection.listAllDomains().isEmpty)
        let error = try #require(throws: VirError.self) {
            try connection.defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("ro")))
        }
        #expect(error.function == "virDomainDefineXMLFlags")
        #expect(error.message.contains("read only") || error.message.contains("read-only"))
    }

    @Test("connections to test:///default open at the same time share the driver's state")
    func sharedDefaultState() throws {
        let first = try Fixtures.open()
        let second = try Fixtures.open()
        let name = Fixtures.uniqueName("shared")
        let domain = try first.defineDomain(xml: Fixtures.domainXML(name: name))
        #expect(try second.lookupDomain(name: name).name() == name)
        try domain.undefine(flags: [])
    }

    @Test("reports node info of the test driver's fake host")
    func nodeInfo() throws {
        let info = try Fixtures.open().nodeInfo()
        #expect(info.cpus > 0)
        #expect(info.memoryKiB > 0)
        #expect(!info.model.isEmpty)
        #expect(try Fixtures.open().freeMemoryBytes() > 0)
    }

    @Test("returns capabilities XML")
    func capabilities() throws {
        let xml = try Fixtures.open().capabilitiesXML()
        #expect(xml.contains("<capabilities>"))
        #expect(xml.contains("<host>"))
    }

    @Test("an unknown URI scheme fails with noConnect naming the URI")
    func unknownScheme() throws {
        let error = try #require(throws: VirError.self) {
            try VirConnection(uri: "bogus-driver:///nowhere")
        }
        #expect(error.code == .noConnect)
        #expect(error.function == "virConnectOpen")
        #expect(error.message.contains("bogus-driver:///nowhere"))
    }

    @Test("a refused remote connection fails with a system error saying so")
    func refusedRemote() throws {
        let error = try #require(throws: VirError.self) {
            try VirConnection(uri: "test+tcp://127.0.0.1:1/default")
        }
        #expect(error.code == .systemError)
        #expect(error.message.contains("Connection refused"))
        #expect(error.message.contains("127.0.0.1"))
    }

    @Test("domain capabilities on the test driver fail with noSupport")
    func domainCapabilitiesUnsupported() throws {
        let error = try #require(throws: VirError.self) {
            try Fixtures.open().domainCapabilitiesXML(architecture: "x86_64")
        }
        #expect(error.code == .noSupport)
        #expect(error.function == "virConnectGetDomainCapabilities")
        #expect(error.message.contains("virConnectGetDomainCapabilities"))
    }
}
