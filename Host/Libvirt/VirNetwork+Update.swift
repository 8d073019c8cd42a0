internal import CLibvirt

/// What ``VirNetwork/update(_:section:xml:parentIndex:flags:)`` does with the element (`virNetworkUpdateCommand`).
public enum VirNetworkUpdateCommand: Sendable, Hashable {
    /// Replaces the matching element (`VIR_NETWORK_UPDATE_COMMAND_MODIFY`).
    case modify
    /// Removes the matching element (`VIR_NETWORK_UPDATE_COMMAND_DELETE`).
    case delete
    /// Appends the element (`VIR_NETWORK_UPDATE_COMMAND_ADD_LAST`).
    case addLast
    /// Prepends the element (`VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST`).
    case addFirst

    var rawValue: UInt32 {
        switch self {
        case .modify: UInt32(VIR_NETWORK_UPDATE_COMMAND_MODIFY.rawValue)
        case .delete: UInt32(VIR_NETWORK_UPDATE_COMMAND_DELETE.rawValue)
        case .addLast: UInt32(VIR_NETWORK_UPDATE_COMMAND_ADD_LAST.rawValue)
        case .addFirst: UInt32(VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST.rawValue)
        }
    }
}

/// The part of a network definition an update addresses (`virNetworkUpdateSection`).
public enum VirNetworkUpdateSection: Sendable, Hashable {
    /// A static DHCP host entry, `<ip>/<dhcp>/<host>` (`VIR_NETWORK_SECTION_IP_DHCP_HOST`).
    case ipDHCPHost
    /// The DHCP range, `<ip>/<dhcp>/<range>` (`VIR_NETWORK_SECTION_IP_DHCP_RANGE`).
    case ipDHCPRange
    /// A DNS host entry, `<dns>/<host>` (`VIR_NETWORK_SECTION_DNS_HOST`).
    case dnsHost

    var rawValue: UInt32 {
        switch self {
        case .ipDHCPHost: UInt32(VIR_NETWORK_SECTION_IP_DHCP_HOST.rawValue)
        case .ipDHCPRange: UInt32(VIR_NETWORK_SECTION_IP_DHCP_RANGE.rawValue)
        case .dnsHost: UInt32(VIR_NETWORK_SECTION_DNS_HOST.rawValue)
        }
    }
}

/// Which definition an update changes (`virNetworkUpdateFlags`). Empty means libvirt's
/// `VIR_NETWORK_UPDATE_AFFECT_CURRENT`: the live state of a running network, the configuration otherwise.
public struct VirNetworkUpdateFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_NETWORK_UPDATE_AFFECT_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The running network (`VIR_NETWORK_UPDATE_AFFECT_LIVE`); fails on an inactive network.
    public static let live = VirNetworkUpdateFlags(rawValue: UInt32(VIR_NETWORK_UPDATE_AFFECT_LIVE.rawValue))
    /// The persistent definition (`VIR_NETWORK_UPDATE_AFFECT_CONFIG`).
    public static let config = VirNetworkUpdateFlags(rawValue: UInt32(VIR_NETWORK_UPDATE_AFFECT_CONFIG.rawValue))
}

/// A static DHCP host entry of a network: `<host mac='…' name='…' ip='…'/>`.
public struct VirNetworkDHCPHost: Sendable, Hashable {
    /// The client's MAC address, e.g. `52:54:00:12:34:56`.
    public var macAddress: String
    /// The host name dnsmasq hands out and resolves, or `nil`.
    public var name: String?
    /// The IPv4 address always leased to that MAC address.
    public var address: String

    /// Creates an entry.
    /// - Parameters:
    ///   - macAddress: The client's MAC address.
    ///   - name: The host name, or `nil`.
    ///   - address: The IPv4 address to lease.
    public init(macAddress: String, name: String? = nil, address: String) {
        self.macAddress = macAddress
        self.name = name
        self.address = address
    }

    /// The `<host>` element, attribute values escaped.
    public var xml: String {
        var attributes = [("mac", macAddress)]
        if let name { attributes.append(("name", name)) }
        attributes.append(("ip", address))
        let rendered = attributes.map { "\($0.0)='\(VirDomainSnapshot.escapeXML($0.1))'" }.joined(separator: " ")
        return "<host \(rendered)/>"
    }
}

extension VirNetwork {
    /// Changes one part of the network's definition without redefining it. The corresponding C function is
    /// `virNetworkUpdate`.
    /// - Parameters:
    ///   - command: Add, delete or modify.
    ///   - section: The part addressed.
    ///   - xml: The element, e.g. `<host mac='…' ip='…'/>`.
    ///   - parentIndex: Which `<ip>` element, or `-1` for the first that fits.
    ///   - flags: `.live`, `.config`, both, or empty for libvirt's "current".
    /// - Throws: `VirError`, e.g. `.operationInvalid` for a duplicate or missing entry or `.live` on an inactive
    ///   network.
    public func update(
        _ command: VirNetworkUpdateCommand, section: VirNetworkUpdateSection, xml: String, parentIndex: Int = -1,
        flags: VirNetworkUpdateFlags = []
    ) throws {
        try xml.withCString { cXML in
            try VirError.check("virNetworkUpdate") {
                virNetworkUpdate(pointer, command.rawValue, section.rawValue, CInt(parentIndex), cXML, flags.rawValue)
            }
        }
    }

    /// The flags that change both the persistent definition and, when the network runs, its live state.
    /// The corresponding C function is `virNetworkIsActive`.
    /// - Throws: `VirError`.
    public func liveAndConfigFlags() throws -> VirNetworkUpdateFlags {
        try isActive() ? [.live, .config] : [.config]
    }

    /// Adds a static DHCP host entry to the definition and, when the network runs, to its live state.
    /// The corresponding C function is `virNetworkUpdate`.
    /// - Parameter host: The entry.
    /// - Throws: `VirError`, `.operationInvalid` when an entry with that MAC address or address exists.
    public func addDHCPHost(_ host: VirNetworkDHCPHost) throws {
        try update(.addLast, section: .ipDHCPHost, xml: host.xml, flags: try liveAndConfigFlags())
    }

    /// Removes a static DHCP host entry from the definition and, when the network runs, from its live state.
    /// The corresponding C function is `virNetworkUpdate`.
    /// - Parameter host: The entry (matched by MAC address, name and address as libvirt does).
    /// - Throws: `VirError`, `.operationInvalid` when the network has no such entry.
    public func deleteDHCPHost(_ host: VirNetworkDHCPHost) throws {
        try update(.delete, section: .ipDHCPHost, xml: host.xml, flags: try liveAndConfigFlags())
    }

    /// The static DHCP host entries of the persistent definition, read from its XML.
    /// The corresponding C function is `virNetworkGetXMLDesc`.
    /// - Returns: The entries in document order; those without a MAC address or an address are skipped.
    /// - Throws: `VirError`.
    public func dhcpHosts() throws -> [VirNetworkDHCPHost] {
        VirNetworkDHCPHost.parse(networkXML: try persistentXMLDescription())
    }

    /// The persistent definition's XML, or the live XML on drivers that cannot describe the inactive definition
    /// (the test driver rejects `VIR_NETWORK_XML_INACTIVE`). The corresponding C function is
    /// `virNetworkGetXMLDesc`.
    /// - Throws: `VirError`.
    public func persistentXMLDescription() throws -> String {
        do {
            return try xmlDescription(inactive: true)
        } catch let error as VirError where error.code == .invalidArgument || error.code == .noSupport {
            return try xmlDescription()
        }
    }
}

extension VirNetworkDHCPHost {
    /// The `<host …/>` entries in a network document (libvirt writes them on one line each, attributes
    /// single-quoted).
    static func parse(networkXML: String) -> [VirNetworkDHCPHost] {
        var result: [VirNetworkDHCPHost] = []
        for line in networkXML.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("<host ") else { continue }
            let attributes = attributeValues(String(trimmed))
            guard let mac = attributes["mac"], let ip = attributes["ip"] else { continue }
            result.append(VirNetworkDHCPHost(macAddress: mac, name: attributes["name"], address: ip))
        }
        return result
    }

    private static func attributeValues(_ element: String) -> [String: String] {
        var values: [String: String] = [:]
        var rest = Substring(element)
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].split(separator: " ").last.map(String.init) ?? ""
            let afterEquals = rest[rest.index(after: equals)...]
            guard let quote = afterEquals.first, quote == "'" || quote == "\"" else { break }
            let valueStart = afterEquals.index(after: afterEquals.startIndex)
            guard let valueEnd = afterEquals[valueStart...].firstIndex(of: quote) else { break }
            values[key] = unescape(String(afterEquals[valueStart..<valueEnd]))
            rest = afterEquals[afterEquals.index(after: valueEnd)...]
        }
        return values
    }

    private static func unescape(_ value: String) -> String {
        let entities = ["&apos;": "'", "&quot;": "\"", "&lt;": "<", "&gt;": ">", "&amp;": "&"]
        var result = ""
        var rest = Substring(value)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            let tail = rest[ampersand...]
            if let (entity, character) = entities.first(where: { tail.hasPrefix($0.key) }) {
                result += character
                rest = tail.dropFirst(entity.count)
            } else {
                result += "&"
                rest = tail.dropFirst()
            }
        }
        return result + rest
    }
}
