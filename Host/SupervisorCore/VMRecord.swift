public import Foundation

/// What the inventory knows about one VM.
public struct VMRecord: Codable, Sendable, Equatable {
    /// The VM's name.
    public var name: String
    /// The libvirt domain's name, which also names the VM's directory under `vms/`: the VM's own name, except for
    /// a VM taken from the warm pool, which keeps the name it was parked under (libvirt cannot rename a domain
    /// with a managed save file, nor restore one under another name).
    public var domain: String
    /// For a VM parked in the warm pool: the input hash of the base image it was made from. `nil` for the
    /// users' VMs.
    public var poolImage: String?
    /// The libvirt domain UUID.
    public var uuid: String
    /// The resource profile last applied.
    public var profile: String
    /// The accelerator it was defined with.
    public var accelerator: Accelerator
    /// Its qcow2 overlay disk.
    public var diskPath: String
    /// The file its serial console is logged to.
    public var consoleLogPath: String
    /// The NIC's MAC address.
    public var macAddress: String
    /// The guest's address on the VM network, once known.
    public var address: String?
    /// The address pinned for this VM: its static DHCP host entry in the network and the IP its interface's
    /// anti-spoofing filter allows. `nil` for a VM created before pinning until its next start.
    public var staticAddress: String?
    /// The agent version last seen.
    public var agentVersion: String?
    /// The sha256 of the agent binary last deployed.
    public var agentSHA256: String?
    /// When the VM was created.
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case name, domain, uuid, profile, accelerator, address
        case poolImage = "pool_image"
        case diskPath = "disk_path"
        case consoleLogPath = "console_log_path"
        case macAddress = "mac_address"
        case staticAddress = "static_address"
        case agentVersion = "agent_version"
        case agentSHA256 = "agent_sha256"
        case createdAt = "created_at"
    }

    /// Creates a record.
    public init(
        name: String, uuid: String, profile: String, accelerator: Accelerator, diskPath: String,
        consoleLogPath: String, macAddress: String, address: String? = nil, staticAddress: String? = nil,
        agentVersion: String? = nil, agentSHA256: String? = nil, createdAt: Date = Date(), domain: String? = nil,
        poolImage: String? = nil
    ) {
        self.name = name
        self.domain = domain ?? name
        self.poolImage = poolImage
        self.uuid = uuid
        self.profile = profile
        self.accelerator = accelerator
        self.diskPath = diskPath
        self.consoleLogPath = consoleLogPath
        self.macAddress = macAddress
        self.address = address
        self.staticAddress = staticAddress
        self.agentVersion = agentVersion
        self.agentSHA256 = agentSHA256
        self.createdAt = createdAt
    }

    /// The prefix of the warm pool's VMs' names, which users' VMs may not take.
    public static let poolPrefix = "somnus-pool-"

    /// Checks a VM name: 1–63 characters of lowercase letters, digits and `-`, starting with a letter or digit,
    /// and not starting with ``poolPrefix``.
    /// - Parameters:
    ///   - name: The name.
    ///   - pool: Whether it names a warm pool VM, which must have the prefix.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the bad name.
    public static func validate(name: String, pool: Bool = false) throws(SupervisorError) {
        guard name.hasPrefix(poolPrefix) == pool else {
            throw SupervisorError(
                .invalidArgument, "invalid VM name '\(name)': names starting with '\(poolPrefix)' are the warm pool's")
        }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
        }
        guard !name.isEmpty, name.utf8.count <= 63, allowed, name.first != "-" else {
            throw SupervisorError(
                .invalidArgument,
                "invalid VM name '\(name)': use 1-63 lowercase letters, digits or '-', not starting with '-'")
        }
    }
}

/// A snapshot as the inventory records it.
public struct SnapshotRecord: Codable, Sendable, Equatable {
    /// The VM it belongs to.
    public var vm: String
    /// The snapshot's name.
    public var name: String
    /// Free text given at creation.
    public var description: String
    /// Whether the guest's filesystems were frozen while it was taken.
    public var quiesced: Bool
    /// Why it was not quiesced, when it was not.
    public var quiesceReason: String?
    /// When it was taken.
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case vm, name, description, quiesced
        case quiesceReason = "quiesce_reason"
        case createdAt = "created_at"
    }

    /// Creates a record.
    public init(
        vm: String, name: String, description: String, quiesced: Bool, quiesceReason: String?,
        createdAt: Date = Date()
    ) {
        self.vm = vm
        self.name = name
        self.description = description
        self.quiesced = quiesced
        self.quiesceReason = quiesceReason
        self.createdAt = createdAt
    }
}
