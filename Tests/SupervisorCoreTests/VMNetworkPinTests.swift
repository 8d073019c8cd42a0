import Curl
import Foundation
import Glibc
import Libvirt
import Logging
import SSH
import SupervisorCore
import Testing

/// The test driver's `default` network (192.168.122.0/24) stands in for `somnus`; it supports DHCP host
/// updates, and an nwfilter reference is only XML to it.
@Suite("VM network pin: static DHCP entry and anti-spoofing filter", .serialized)
struct VMNetworkPinTests {
    private func dhcpHosts() throws -> [VirNetworkDHCPHost] {
        try VirConnection(uri: "test:///default").lookupNetwork(name: "default").dhcpHosts()
    }

    private func domainXML(_ name: String) throws -> String {
        try VirConnection(uri: "test:///default").lookupDomain(name: name).xmlDescription(flags: .inactive)
    }

    @Test("create pins a free address: DHCP host entry, record and clean-traffic filter; delete removes the entry")
    func createAndDelete() async throws {
        let host = try await TestHost.make(network: "default")
        defer { host.cleanUp() }
        let first = uniqueName("pin")
        let second = uniqueName("pin")
        let a = try await host.manager.create(name: first)
        let b = try await host.manager.create(name: second)
        let addressA = try #require(a.staticAddress)
        let addressB = try #require(b.staticAddress)
        #expect(addressA != addressB)
        #expect(addressA.hasPrefix("192.168.122."))
        let hostNumber = try #require(Int(addressA.split(separator: ".").last ?? ""))
        #expect((10...250).contains(hostNumber))
        #expect(try host.manager.record(first).staticAddress == addressA)

        let entries = try dhcpHosts()
        #expect(entries.contains(VirNetworkDHCPHost(macAddress: a.macAddress, name: first, address: addressA)))
        #expect(entries.contains(VirNetworkDHCPHost(macAddress: b.macAddress, name: second, address: addressB)))
        let xml = try domainXML(first)
        #expect(xml.contains("<filterref filter='clean-traffic'>"), "\(xml)")
        #expect(xml.contains("<parameter name='IP' value='\(addressA)'/>"), "\(xml)")

        try await host.manager.delete(name: first)
        try await host.manager.delete(name: second)
        let after = try dhcpHosts()
        #expect(!after.contains { $0.macAddress == a.macAddress || $0.address == addressA })
        #expect(!after.contains { $0.macAddress == b.macAddress || $0.address == addressB })
    }

    @Test("creates racing from two managers on one state directory (a command and the daemon) pin distinct addresses")
    func concurrentCreates() async throws {
        let host = try await TestHost.make(network: "default")
        defer { host.cleanUp() }
        let other = try await TestHost.make(root: host.root, network: "default")
        let names = (0..<4).map { _ in uniqueName("race") }
        let records = try await withThrowingTaskGroup(of: VMRecord.self) { group in
            for (index, name) in names.enumerated() {
                let manager = index.isMultiple(of: 2) ? host.manager : other.manager
                group.addTask { try await manager.create(name: name) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let addresses = records.compactMap(\.staticAddress)
        #expect(addresses.count == names.count)
        #expect(Set(addresses).count == names.count, "\(addresses)")
        for name in names {
            try await host.manager.delete(name: name)
        }
    }

    @Test("an address held by another entry of the network is never handed out")
    func skipsTakenAddresses() async throws {
        let host = try await TestHost.make(network: "default")
        defer { host.cleanUp() }
        let network = try VirConnection(uri: "test:///default").lookupNetwork(name: "default")
        let foreign = VirNetworkDHCPHost(macAddress: "52:54:00:fe:fe:fe", name: "foreign", address: "192.168.122.10")
        try network.addDHCPHost(foreign)
        defer { try? network.deleteDHCPHost(foreign) }
        let name = uniqueName("pin")
        let record = try await host.manager.create(name: name)
        #expect(record.staticAddress != nil)
        #expect(record.staticAddress != "192.168.122.10")
        try await host.manager.delete(name: name)
    }

    @Test("a VM created before pinning gets its address, entry and filter on its next start")
    func upgradeOnStart() async throws {
        let host = try await TestHost.make(network: "default")
        defer { host.cleanUp() }
        let name = uniqueName("old")
        var record = try await host.manager.create(name: name)
        // Make it look like a VM from before: no address in the record, no entry, no filter in its XML.
        let connection = try VirConnection(uri: "test:///default")
        let network = try connection.lookupNetwork(name: "default")
        for entry in try network.dhcpHosts() where entry.macAddress == record.macAddress {
            try network.deleteDHCPHost(entry)
        }
        record.staticAddress = nil
        try host.manager.inventory.update(record)
        var xml = try domainXML(name)
        let start = try #require(xml.range(of: "<filterref"))
        let end = try #require(xml.range(of: "</filterref>"))
        xml.removeSubrange(start.lowerBound..<end.upperBound)
        _ = try connection.defineDomain(xml: xml)
        #expect(try !domainXML(name).contains("filterref"))

        try await host.manager.start(name: name)
        let address = try #require(try host.manager.record(name).staticAddress)
        #expect(
            try dhcpHosts().contains(VirNetworkDHCPHost(macAddress: record.macAddress, name: name, address: address)))
        let upgraded = try domainXML(name)
        #expect(upgraded.contains("<filterref filter='clean-traffic'>"), "\(upgraded)")
        #expect(upgraded.contains("<parameter name='IP' value='\(address)'/>"), "\(upgraded)")
        #expect(try await host.manager.isRunning(name: name))

        // A second start changes nothing.
        try await host.manager.start(name: name)
        #expect(try host.manager.record(name).staticAddress == address)
        #expect(try dhcpHosts().filter { $0.macAddress == record.macAddress }.count == 1)
        try await host.manager.delete(name: name)
    }
}

@Suite("Host file modes", .serialized)
struct HostFileModeTests {
    private func mode(_ path: String) throws -> (mode: Int, group: gid_t) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return (Int(status.st_mode & 0o7777), status.st_gid)
    }

    @Test("state and VM directories admit only root and libvirt-qemu; disk, token and key are 0600")
    func modes() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("modes")
        let record = try await host.manager.create(name: name)
        let qemuGroup = getgrnam("libvirt-qemu")?.pointee.gr_gid
        let directoryMode = qemuGroup == nil ? 0o700 : 0o750
        for directory in [host.root.path, host.manager.layout.vmsDirectory, host.manager.layout.vmDirectory(name)] {
            let found = try mode(directory)
            #expect(found.mode == directoryMode, "\(directory): \(String(found.mode, radix: 8))")
            if let qemuGroup { #expect(found.group == qemuGroup, "\(directory)") }
        }
        #expect(try mode(record.diskPath).mode == 0o600)
        for file in ["", "-wal", "-shm"]
        where FileManager.default.fileExists(atPath: host.manager.layout.inventoryPath + file) {
            #expect(try mode(host.manager.layout.inventoryPath + file).mode == 0o600, "inventory.sqlite\(file)")
        }

        let deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let credentials = try AgentCredentials.ensure(layout: host.manager.layout, vm: name)
        let layout = host.manager.layout
        for secret in [layout.agentTokenPath(name), layout.agentKeyPath(name), layout.hostKeyPath] {
            #expect(try mode(secret).mode == 0o600, "\(secret)")
        }
        #expect(try mode(layout.tlsDirectory).mode == 0o700)
        #expect(try String(contentsOfFile: layout.agentTokenPath(name), encoding: .utf8) == credentials.token)
        // A redeploy uses the same token and keys, so that a revert to an older snapshot keeps the host's access.
        let second = try AgentCredentials.ensure(layout: host.manager.layout, vm: name)
        #expect(second.token == credentials.token)
        #expect(second.agentPin == credentials.agentPin)
        #expect(try mode(layout.agentTokenPath(name)).mode == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: host.manager.layout.vmDirectory(name))
            .filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)

        let key = try deployer.ensureKeyPair()
        #expect(try mode(key.privateKeyPath).mode == 0o600)
        #expect(try mode((key.privateKeyPath as NSString).deletingLastPathComponent).mode == 0o700)
        try await host.manager.delete(name: name)
    }
}
