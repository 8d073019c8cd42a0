import Foundation
import Libvirt
import Logging

/// Per-VM network pinning: a static DHCP host entry (MAC, name, address) in the VM network and an interface
/// filter (``SupervisorConfiguration/networkFilter``, `clean-traffic`) that allows only that address, so a
/// guest can neither take another guest's address nor answer ARP for it.
extension VMManager {
    /// The lowest and highest host number handed out as a static address (inside the network's DHCP range).
    static let staticHostNumbers = 10...250

    /// Picks a free address for a new VM: in `.10`–`.250` of the network's IPv4 subnet, not the pinned or
    /// last-seen address of any other VM, not in any static DHCP host entry and not leased now.
    /// - Parameters:
    ///   - vm: The VM the address is for (its own addresses do not count as taken).
    ///   - excluding: Addresses to skip besides those.
    /// - Returns: The address, or `nil` when libvirt has no network of the configured name (a domain on a
    ///   missing network cannot start, so it needs no pin until the network exists).
    /// - Throws: ``SupervisorError/Code/capacity`` when every address is taken.
    func freeStaticAddress(for vm: String, excluding: Set<String> = []) async throws(SupervisorError) -> String? {
        let network = configuration.network
        let view = try await libvirt("read network '\(network)'") { connection -> NetworkView? in
            let net: VirNetwork
            do {
                net = try connection.lookupNetwork(name: network)
            } catch let error as VirError where error.code == .noNetwork {
                return nil
            }
            let xml = try net.persistentXMLDescription()
            let leases = (try? net.dhcpLeases()) ?? []
            return NetworkView(
                xml: xml, hosts: try net.dhcpHosts(), leased: Set(leases.map(\.address)))
        }
        guard let view else { return nil }
        guard let prefix = VMManager.ipv4Prefix(networkXML: view.xml) else {
            throw SupervisorError(
                .invalidState, "network '\(network)' has no IPv4 /24 address to pin VM addresses in")
        }
        var taken = excluding.union(view.leased).union(view.hosts.map(\.address))
        for record in try inventory.allVMs() where record.name != vm {
            if let address = record.staticAddress { taken.insert(address) }
            if let address = record.address { taken.insert(address) }
        }
        for host in VMManager.staticHostNumbers {
            let candidate = prefix + String(host)
            if !taken.contains(candidate) { return candidate }
        }
        throw SupervisorError(
            .capacity,
            "network '\(network)' has no free address in \(prefix)\(VMManager.staticHostNumbers.lowerBound)–"
                + "\(prefix)\(VMManager.staticHostNumbers.upperBound)")
    }

    /// The first three octets and a dot (`192.168.213.`) of the network's first IPv4 `<ip>` with a /24 mask.
    static func ipv4Prefix(networkXML: String) -> String? {
        for line in networkXML.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("<ip "), !trimmed.contains("family='ipv6'"),
                trimmed.contains("netmask='255.255.255.0'") || trimmed.contains("prefix='24'"),
                let start = trimmed.range(of: "address='")?.upperBound,
                let end = trimmed[start...].firstIndex(of: "'")
            else { continue }
            let octets = trimmed[start..<end].split(separator: ".")
            guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { continue }
            return octets.prefix(3).joined(separator: ".") + "."
        }
        return nil
    }

    /// Adds the VM's static DHCP host entry to the network (live and persistent), replacing any entry that has
    /// the VM's MAC address or name with another address. Nothing when the network does not exist.
    func addDHCPHost(name: String, macAddress: String, address: String) async throws(SupervisorError) {
        let network = configuration.network
        let wanted = VirNetworkDHCPHost(macAddress: macAddress, name: name, address: address)
        try await libvirt("pin address \(address) for '\(name)' in network '\(network)'") { connection in
            let net: VirNetwork
            do {
                net = try connection.lookupNetwork(name: network)
            } catch let error as VirError where error.code == .noNetwork {
                return
            }
            let existing = try net.dhcpHosts()
            if existing.contains(wanted) { return }
            for stale in existing where stale.macAddress.lowercased() == macAddress.lowercased() || stale.name == name {
                try net.deleteDHCPHost(stale)
            }
            try net.addDHCPHost(wanted)
        }
    }

    /// Removes every static DHCP host entry with the VM's MAC address or name. Nothing when the network or the
    /// entry does not exist.
    func removeDHCPHost(name: String, macAddress: String) async throws(SupervisorError) {
        let network = configuration.network
        try await libvirt("remove the address pin of '\(name)' from network '\(network)'") { connection in
            let net: VirNetwork
            do {
                net = try connection.lookupNetwork(name: network)
            } catch let error as VirError where error.code == .noNetwork {
                return
            }
            for entry in try net.dhcpHosts()
            where entry.macAddress.lowercased() == macAddress.lowercased() || entry.name == name {
                try net.deleteDHCPHost(entry)
            }
        }
    }

    /// Gives a VM its pin when it lacks part of it (a VM created before pinning, or a network recreated since):
    /// a static address in the record, the DHCP host entry, and the filter with that address in the domain's
    /// persistent XML (redefined when missing; takes effect at the domain's next start).
    /// - Returns: The record, updated when an address was allocated.
    @discardableResult
    func ensureNetworkPin(_ record: VMRecord) async throws(SupervisorError) -> VMRecord {
        var record = record
        if record.staticAddress == nil {
            guard let address = try await freeStaticAddress(for: record.name) else { return record }
            record.staticAddress = address
            try inventory.update(record)
            logger.info(
                "vm address pinned", metadata: ["vm.name": "\(record.name)", "vm.address": "\(address)"])
        }
        guard let address = record.staticAddress else { return record }
        try await addDHCPHost(name: record.domain, macAddress: record.macAddress, address: address)
        guard let filter = configuration.networkFilter else { return record }
        let name = record.name
        let domainName = record.domain
        let mac = record.macAddress
        let redefined = try await libvirt("add filter '\(filter)' to '\(name)'", vm: name) { connection -> Bool in
            let domain = try connection.lookupDomain(name: domainName)
            let xml = try domain.xmlDescription(flags: .inactive)
            guard let updated = VMManager.domainXML(xml, filter: filter, address: address, macAddress: mac) else {
                return false
            }
            _ = try connection.defineDomain(xml: updated)
            return true
        }
        if redefined {
            logger.info(
                "vm interface filter added",
                metadata: ["vm.name": "\(name)", "vm.address": "\(address)", "vm.filter": "\(filter)"])
        }
        return record
    }

    /// The domain XML with `<filterref filter='…'><parameter name='IP' value='…'/></filterref>` in the
    /// interface that has `macAddress`, replacing any other filterref there; `nil` when it already has exactly
    /// that filter or has no such interface.
    static func domainXML(_ xml: String, filter: String, address: String, macAddress: String) -> String? {
        let macAttribute = "<mac address='\(macAddress)'/>"
        guard let mac = xml.range(of: macAttribute),
            let interfaceStart = xml[..<mac.lowerBound].range(of: "<interface", options: .backwards),
            let interfaceEnd = xml[mac.upperBound...].range(of: "</interface>")
        else { return nil }
        var interface = String(xml[interfaceStart.lowerBound..<interfaceEnd.lowerBound])
        let wanted = XMLElement(
            "filterref", [("filter", filter)], [XMLElement("parameter", [("name", "IP"), ("value", address)])])
        if let existing = interface.range(of: "<filterref") {
            let closing =
                interface[existing.lowerBound...].range(of: "</filterref>")?.upperBound
                ?? interface[existing.lowerBound...].range(of: "/>")?.upperBound
            guard let closing else { return nil }
            let current = String(interface[existing.lowerBound..<closing])
            if current.contains("filter='\(filter)'"), current.contains("name='IP' value='\(address)'"),
                current.components(separatedBy: "<parameter").count == 2
            {
                return nil
            }
            interface.removeSubrange(existing.lowerBound..<closing)
        }
        let indent = "      "
        interface =
            interface.trimmingTrailingWhitespace() + "\n"
            + wanted.render().split(separator: "\n").map { indent + $0 }.joined(separator: "\n") + "\n    "
        return String(xml[..<interfaceStart.lowerBound]) + interface + String(xml[interfaceEnd.lowerBound...])
    }
}

/// What ``VMManager/freeStaticAddress(for:excluding:)`` reads from the network in one libvirt call.
struct NetworkView: Sendable {
    var xml: String
    var hosts: [VirNetworkDHCPHost]
    var leased: Set<String>
}

extension String {
    fileprivate func trimmingTrailingWhitespace() -> String {
        var copy = self
        while let last = copy.last, last == " " || last == "\n" || last == "\t" { copy.removeLast() }
        return copy
    }
}
