/// The host's CPU and memory layout (`virNodeInfo`).
public struct VirNodeInfo: Sendable, Hashable {
    /// The CPU model, e.g. `x86_64`.
    public var model: String
    /// Total memory in KiB.
    public var memoryKiB: Int
    /// Number of active CPUs.
    public var cpus: Int
    /// Expected CPU frequency in MHz, 0 when unknown.
    public var mhz: Int
    /// Number of NUMA cells.
    public var numaNodes: Int
    /// CPU sockets per NUMA cell.
    public var sockets: Int
    /// Cores per socket.
    public var cores: Int
    /// Threads per core.
    public var threads: Int

    /// Creates a node info value.
    /// - Parameters:
    ///   - model: The CPU model.
    ///   - memoryKiB: Total memory in KiB.
    ///   - cpus: Number of active CPUs.
    ///   - mhz: CPU frequency in MHz.
    ///   - numaNodes: Number of NUMA cells.
    ///   - sockets: Sockets per cell.
    ///   - cores: Cores per socket.
    ///   - threads: Threads per core.
    public init(
        model: String,
        memoryKiB: Int,
        cpus: Int,
        mhz: Int,
        numaNodes: Int,
        sockets: Int,
        cores: Int,
        threads: Int
    ) {
        self.model = model
        self.memoryKiB = memoryKiB
        self.cpus = cpus
        self.mhz = mhz
        self.numaNodes = numaNodes
        self.sockets = sockets
        self.cores = cores
        self.threads = threads
    }
}

/// An IP address family (`virIPAddrType`).
public enum VirIPAddressFamily: Sendable, Hashable {
    /// IPv4.
    case ipv4
    /// IPv6.
    case ipv6
    /// A family this wrapper does not know.
    case other(Int)

    init(rawValue: Int) {
        switch rawValue {
        case 0: self = .ipv4
        case 1: self = .ipv6
        default: self = .other(rawValue)
        }
    }
}

/// One IP address of a guest interface (`virDomainIPAddress`).
public struct VirIPAddress: Sendable, Hashable {
    /// The address family.
    public var family: VirIPAddressFamily
    /// The address in text form, e.g. `192.168.122.10`.
    public var address: String
    /// The network prefix length.
    public var prefix: Int

    /// Creates an address value.
    /// - Parameters:
    ///   - family: The address family.
    ///   - address: The textual address.
    ///   - prefix: The prefix length.
    public init(family: VirIPAddressFamily, address: String, prefix: Int) {
        self.family = family
        self.address = address
        self.prefix = prefix
    }
}

/// A guest network interface and its addresses (`virDomainInterface`).
public struct VirDomainInterface: Sendable, Hashable {
    /// The interface name as seen by the source (e.g. `vnet0` or `eth0`).
    public var name: String
    /// The MAC address, when known.
    public var hardwareAddress: String?
    /// The addresses assigned to the interface.
    public var addresses: [VirIPAddress]

    /// Creates an interface value.
    /// - Parameters:
    ///   - name: The interface name.
    ///   - hardwareAddress: The MAC address.
    ///   - addresses: The IP addresses.
    public init(name: String, hardwareAddress: String?, addresses: [VirIPAddress]) {
        self.name = name
        self.hardwareAddress = hardwareAddress
        self.addresses = addresses
    }
}

/// A DHCP lease handed out by a libvirt network (`virNetworkDHCPLease`).
public struct VirNetworkDHCPLease: Sendable, Hashable {
    /// The network's bridge interface.
    public var interface: String
    /// When the lease expires, in seconds since the Unix epoch.
    public var expirySeconds: Int
    /// The address family.
    public var family: VirIPAddressFamily
    /// The client's MAC address.
    public var macAddress: String?
    /// The IAID (IPv6 only).
    public var iaid: String?
    /// The leased address.
    public var address: String
    /// The network prefix length.
    public var prefix: Int
    /// The client's host name.
    public var hostname: String?
    /// The client ID or DUID.
    public var clientID: String?

    /// Creates a lease value.
    /// - Parameters:
    ///   - interface: The bridge interface.
    ///   - expirySeconds: Expiry time in seconds since the Unix epoch.
    ///   - family: The address family.
    ///   - macAddress: The client's MAC address.
    ///   - iaid: The IAID.
    ///   - address: The leased address.
    ///   - prefix: The prefix length.
    ///   - hostname: The client's host name.
    ///   - clientID: The client ID.
    public init(
        interface: String,
        expirySeconds: Int,
        family: VirIPAddressFamily,
        macAddress: String?,
        iaid: String?,
        address: String,
        prefix: Int,
        hostname: String?,
        clientID: String?
    ) {
        self.interface = interface
        self.expirySeconds = expirySeconds
        self.family = family
        self.macAddress = macAddress
        self.iaid = iaid
        self.address = address
        self.prefix = prefix
        self.hostname = hostname
        self.clientID = clientID
    }
}
