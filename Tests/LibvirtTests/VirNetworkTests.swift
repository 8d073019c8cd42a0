import Foundation
import Libvirt
import Testing

@Suite("VirNetwork")
struct VirNetworkTests {
    @Test("finds the test driver's default network")
    func defaultNetwork() throws {
        let network = try Fixtures.open().lookupNetwork(name: "default")
        #expect(try network.name() == "default")
        #expect(try network.isActive())
        #expect(try !network.bridgeName().isEmpty)
        #expect(try network.xmlDescription().contains("<name>default</name>"))
        #expect(try !network.uuidString().isEmpty)
    }

    @Test("defines, starts, stops and undefines a network")
    func lifecycle() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("net")
        let network = try connection.defineNetwork(
            xml: Fixtures.networkXML(name: name, bridge: "vb\(name.suffix(8))", octet: 200)
        )
        #expect(try network.isPersistent())
        #expect(try !network.isActive())
        #expect(try connection.listAllNetworks().map { try $0.name() }.contains(name))

        try network.create()
        #expect(try network.isActive())
        try network.setAutostart(true)
        #expect(try network.autostart())

        try network.destroy()
        #expect(try !network.isActive())
        try network.undefine()
        let error = try #require(throws: VirError.self) { try connection.lookupNetwork(name: name) }
        #expect(error.code == .noNetwork)
        #expect(error.function == "virNetworkLookupByName")
        #expect(error.message.contains(name))
    }

    @Test("creates a transient network that disappears when destroyed")
    func transient() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("tnet")
        let network = try connection.createTransientNetwork(
            xml: Fixtures.networkXML(name: name, bridge: "vb\(name.suffix(8))", octet: 202)
        )
        #expect(try network.isActive())
        #expect(try !network.isPersistent())
        #expect(try network.xmlDescription().contains("<name>\(name)</name>"))
        try network.destroy()
        let error = try #require(throws: VirError.self) { try connection.lookupNetwork(name: name) }
        #expect(error.code == .noNetwork)
    }

    @Test("an unknown network fails with noNetwork naming it")
    func unknown() throws {
        let name = Fixtures.uniqueName("nonet")
        let error = try #require(throws: VirError.self) { try Fixtures.open().lookupNetwork(name: name) }
        #expect(error.code == .noNetwork)
        #expect(error.message.contains(name))
    }

    @Test("malformed network XML fails with xmlError")
    func badXML() throws {
        let error = try #require(throws: VirError.self) { try Fixtures.open().defineNetwork(xml: "<network><name>") }
        #expect(error.code == .xmlError || error.code == .xmlDetail)
        #expect(error.function == "virNetworkDefineXML")
    }

    @Test("starting an active network fails saying it is already running")
    func startActive() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("busy")
        let network = try connection.defineNetwork(
            xml: Fixtures.networkXML(name: name, bridge: "vb\(name.suffix(8))", octet: 201)
        )
        try network.create()
        let error = try #require(throws: VirError.self) { try network.create() }
        #expect(error.code == .operationInvalid)
        #expect(error.function == "virNetworkCreate")
        #expect(error.message.contains("already running"))
        #expect(error.message.contains(name))
        try network.destroy()
        try network.undefine()
    }

    @Test("DHCP leases on the test driver fail with noSupport naming the function")
    func dhcpLeasesUnsupported() throws {
        let network = try Fixtures.open().lookupNetwork(name: "default")
        let error = try #require(throws: VirError.self) { try network.dhcpLeases() }
        #expect(error.code == .noSupport)
        #expect(error.function == "virNetworkGetDHCPLeases")
        #expect(error.message.contains("virNetworkGetDHCPLeases"))
    }
}

@Suite("VirNetwork DHCP host entries")
struct VirNetworkDHCPHostTests {
    @Test("adds and deletes a static DHCP host entry, live and in the persistent definition")
    func addAndDelete() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("dhcp")
        let network = try connection.defineNetwork(
            xml: Fixtures.networkXML(name: name, bridge: "vb\(name.suffix(8))", octet: 203))
        defer {
            try? network.destroy()
            try? network.undefine()
        }
        let host = VirNetworkDHCPHost(macAddress: "52:54:00:aa:bb:01", name: "vm-a", address: "192.168.203.20")

        try network.addDHCPHost(host)
        #expect(try network.dhcpHosts() == [host])

        try network.create()
        let second = VirNetworkDHCPHost(macAddress: "52:54:00:aa:bb:02", name: "vm-b", address: "192.168.203.21")
        try network.addDHCPHost(second)
        #expect(try network.dhcpHosts() == [host, second])
        #expect(try network.xmlDescription().contains("ip='192.168.203.21'"))

        try network.deleteDHCPHost(host)
        #expect(try network.dhcpHosts() == [second])
        #expect(try !network.xmlDescription().contains("192.168.203.20"))
    }

    @Test("deleting an entry the network does not have fails naming virNetworkUpdate")
    func deleteMissing() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("dhcpx")
        let network = try connection.defineNetwork(
            xml: Fixtures.networkXML(name: name, bridge: "vb\(name.suffix(8))", octet: 204))
        defer { try? network.undefine() }
        let error = try #require(throws: VirError.self) {
            try network.deleteDHCPHost(VirNetworkDHCPHost(macAddress: "52:54:00:aa:bb:09", address: "192.168.204.9"))
        }
        #expect(error.function == "virNetworkUpdate")
        #expect(!error.message.isEmpty)
    }

    @Test("the entry's XML escapes its values")
    func escaping() {
        let host = VirNetworkDHCPHost(macAddress: "52:54:00:00:00:01", name: "a'<b>&", address: "10.0.0.2")
        #expect(host.xml == "<host mac='52:54:00:00:00:01' name='a&apos;&lt;b&gt;&amp;' ip='10.0.0.2'/>")
    }
}
