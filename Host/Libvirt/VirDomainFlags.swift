/// Flags for ``VirConnection/defineDomain(xml:flags:)`` (`virDomainDefineFlags`).
public struct VirDomainDefineFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_DEFINE_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Validate the XML against the schema (`VIR_DOMAIN_DEFINE_VALIDATE`).
    public static let validate = VirDomainDefineFlags(rawValue: 1 << 0)
}

/// Flags for ``VirDomain/undefine(flags:)`` (`virDomainUndefineFlagsValues`).
public struct VirDomainUndefineFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_UNDEFINE_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Also remove any managed save image (`VIR_DOMAIN_UNDEFINE_MANAGED_SAVE`).
    public static let managedSave = VirDomainUndefineFlags(rawValue: 1 << 0)
    /// Also remove snapshot metadata (`VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA`).
    public static let snapshotsMetadata = VirDomainUndefineFlags(rawValue: 1 << 1)
    /// Also remove the NVRAM file (`VIR_DOMAIN_UNDEFINE_NVRAM`).
    public static let nvram = VirDomainUndefineFlags(rawValue: 1 << 2)
    /// Keep the NVRAM file (`VIR_DOMAIN_UNDEFINE_KEEP_NVRAM`).
    public static let keepNVRAM = VirDomainUndefineFlags(rawValue: 1 << 3)
    /// Also remove checkpoint metadata (`VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA`).
    public static let checkpointsMetadata = VirDomainUndefineFlags(rawValue: 1 << 4)
    /// Also remove persistent TPM state (`VIR_DOMAIN_UNDEFINE_TPM`).
    public static let tpm = VirDomainUndefineFlags(rawValue: 1 << 5)
    /// Keep persistent TPM state (`VIR_DOMAIN_UNDEFINE_KEEP_TPM`).
    public static let keepTPM = VirDomainUndefineFlags(rawValue: 1 << 6)

    /// Everything libvirt can remove with the domain: managed save, snapshot and checkpoint metadata, NVRAM, TPM.
    public static let removeAll: VirDomainUndefineFlags = [
        .managedSave, .snapshotsMetadata, .checkpointsMetadata, .nvram, .tpm,
    ]
}

/// Flags for ``VirDomain/managedSave(flags:)`` (`virDomainSaveRestoreFlags`).
public struct VirDomainSaveFlags: OptionSet, Sendable, Hashable {
    /// The raw `virDomainSaveRestoreFlags` bits.
    public let rawValue: UInt32

    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Writes the file without the host's page cache (`VIR_DOMAIN_SAVE_BYPASS_CACHE`).
    public static let bypassCache = VirDomainSaveFlags(rawValue: 1 << 0)
    /// Restores the domain running (`VIR_DOMAIN_SAVE_RUNNING`).
    public static let running = VirDomainSaveFlags(rawValue: 1 << 1)
    /// Restores the domain paused (`VIR_DOMAIN_SAVE_PAUSED`).
    public static let paused = VirDomainSaveFlags(rawValue: 1 << 2)
}

/// Flags for ``VirDomain/create(flags:)`` (`virDomainCreateFlags`).
public struct VirDomainStartFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_START_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Start paused (`VIR_DOMAIN_START_PAUSED`).
    public static let paused = VirDomainStartFlags(rawValue: 1 << 0)
    /// Destroy the domain when the connection closes (`VIR_DOMAIN_START_AUTODESTROY`).
    public static let autoDestroy = VirDomainStartFlags(rawValue: 1 << 1)
    /// Avoid file system cache pollution (`VIR_DOMAIN_START_BYPASS_CACHE`).
    public static let bypassCache = VirDomainStartFlags(rawValue: 1 << 2)
    /// Boot, discarding any managed save image (`VIR_DOMAIN_START_FORCE_BOOT`).
    public static let forceBoot = VirDomainStartFlags(rawValue: 1 << 3)
    /// Validate the XML against the schema (`VIR_DOMAIN_START_VALIDATE`).
    public static let validate = VirDomainStartFlags(rawValue: 1 << 4)
    /// Re-initialise NVRAM from its template (`VIR_DOMAIN_START_RESET_NVRAM`).
    public static let resetNVRAM = VirDomainStartFlags(rawValue: 1 << 5)
}

/// Methods for ``VirDomain/shutdown(flags:)`` (`virDomainShutdownFlagValues`); empty lets the hypervisor choose.
public struct VirDomainShutdownFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_SHUTDOWN_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Send an ACPI power button event (`VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN`).
    public static let acpiPowerButton = VirDomainShutdownFlags(rawValue: 1 << 0)
    /// Ask the guest agent (`VIR_DOMAIN_SHUTDOWN_GUEST_AGENT`).
    public static let guestAgent = VirDomainShutdownFlags(rawValue: 1 << 1)
    /// Use initctl (`VIR_DOMAIN_SHUTDOWN_INITCTL`).
    public static let initctl = VirDomainShutdownFlags(rawValue: 1 << 2)
    /// Send a signal (`VIR_DOMAIN_SHUTDOWN_SIGNAL`).
    public static let signal = VirDomainShutdownFlags(rawValue: 1 << 3)
    /// Use paravirtual guest control (`VIR_DOMAIN_SHUTDOWN_PARAVIRT`).
    public static let paravirt = VirDomainShutdownFlags(rawValue: 1 << 4)
}

/// Flags for ``VirDomain/destroy(flags:)`` (`virDomainDestroyFlagsValues`).
public struct VirDomainDestroyFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_DESTROY_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Only send SIGTERM, never SIGKILL (`VIR_DOMAIN_DESTROY_GRACEFUL`).
    public static let graceful = VirDomainDestroyFlags(rawValue: 1 << 0)
    /// Remove the domain's logs (`VIR_DOMAIN_DESTROY_REMOVE_LOGS`).
    public static let removeLogs = VirDomainDestroyFlags(rawValue: 1 << 1)
}

/// Flags for ``VirDomain/xmlDescription(flags:)`` (`virDomainXMLFlags`).
public struct VirDomainXMLFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_XML_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Include security-sensitive data (`VIR_DOMAIN_XML_SECURE`).
    public static let secure = VirDomainXMLFlags(rawValue: 1 << 0)
    /// Describe the persistent (next boot) configuration (`VIR_DOMAIN_XML_INACTIVE`).
    public static let inactive = VirDomainXMLFlags(rawValue: 1 << 1)
    /// Update guest CPU requirements from the host CPU (`VIR_DOMAIN_XML_UPDATE_CPU`).
    public static let updateCPU = VirDomainXMLFlags(rawValue: 1 << 2)
    /// XML suitable for migration (`VIR_DOMAIN_XML_MIGRATABLE`).
    public static let migratable = VirDomainXMLFlags(rawValue: 1 << 3)
}

/// Which configuration a vCPU change applies to (`virDomainVcpuFlags`); empty means the current one.
public struct VirDomainVCPUFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_VCPU_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The running domain (`VIR_DOMAIN_VCPU_LIVE`).
    public static let live = VirDomainVCPUFlags(rawValue: 1 << 0)
    /// The persistent configuration (`VIR_DOMAIN_VCPU_CONFIG`).
    public static let config = VirDomainVCPUFlags(rawValue: 1 << 1)
    /// The maximum rather than the current count (`VIR_DOMAIN_VCPU_MAXIMUM`).
    public static let maximum = VirDomainVCPUFlags(rawValue: 1 << 2)
    /// Change the CPUs inside the guest via its agent (`VIR_DOMAIN_VCPU_GUEST`).
    public static let guest = VirDomainVCPUFlags(rawValue: 1 << 3)
    /// Make added vCPUs hot-unpluggable (`VIR_DOMAIN_VCPU_HOTPLUGGABLE`).
    public static let hotpluggable = VirDomainVCPUFlags(rawValue: 1 << 4)
}

/// Which configuration a memory change applies to (`virDomainMemoryModFlags`); empty means the current one.
public struct VirDomainMemoryFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_MEM_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The running domain (`VIR_DOMAIN_MEM_LIVE`).
    public static let live = VirDomainMemoryFlags(rawValue: 1 << 0)
    /// The persistent configuration (`VIR_DOMAIN_MEM_CONFIG`).
    public static let config = VirDomainMemoryFlags(rawValue: 1 << 1)
    /// The maximum rather than the current memory (`VIR_DOMAIN_MEM_MAXIMUM`).
    public static let maximum = VirDomainMemoryFlags(rawValue: 1 << 2)
}

/// Filters for ``VirConnection/listAllDomains(flags:)`` (`virConnectListAllDomainsFlags`); empty lists all.
public struct VirDomainListFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_CONNECT_LIST_DOMAINS_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Active domains.
    public static let active = VirDomainListFlags(rawValue: 1 << 0)
    /// Inactive domains.
    public static let inactive = VirDomainListFlags(rawValue: 1 << 1)
    /// Persistent domains.
    public static let persistent = VirDomainListFlags(rawValue: 1 << 2)
    /// Transient domains.
    public static let transient = VirDomainListFlags(rawValue: 1 << 3)
    /// Running domains.
    public static let running = VirDomainListFlags(rawValue: 1 << 4)
    /// Paused domains.
    public static let paused = VirDomainListFlags(rawValue: 1 << 5)
    /// Shut-off domains.
    public static let shutOff = VirDomainListFlags(rawValue: 1 << 6)
    /// Domains in any other state.
    public static let other = VirDomainListFlags(rawValue: 1 << 7)
    /// Domains with a managed save image.
    public static let managedSave = VirDomainListFlags(rawValue: 1 << 8)
    /// Domains without a managed save image.
    public static let noManagedSave = VirDomainListFlags(rawValue: 1 << 9)
    /// Domains marked for autostart.
    public static let autostart = VirDomainListFlags(rawValue: 1 << 10)
    /// Domains not marked for autostart.
    public static let noAutostart = VirDomainListFlags(rawValue: 1 << 11)
    /// Domains with snapshots.
    public static let hasSnapshot = VirDomainListFlags(rawValue: 1 << 12)
    /// Domains without snapshots.
    public static let noSnapshot = VirDomainListFlags(rawValue: 1 << 13)
}

/// Where ``VirDomain/interfaceAddresses(source:)`` gets its answer (`virDomainInterfaceAddressesSource`).
public enum VirInterfaceAddressSource: Int, Sendable, Hashable {
    /// The DHCP lease file of libvirt's own network (`VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE`).
    case lease = 0
    /// The QEMU guest agent (`VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT`).
    case agent = 1
    /// The host's ARP table (`VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP`).
    case arp = 2
}
