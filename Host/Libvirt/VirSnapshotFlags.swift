/// Flags for ``VirDomain/createSnapshot(xml:flags:)`` (`virDomainSnapshotCreateFlags`).
public struct VirSnapshotCreateFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_SNAPSHOT_CREATE_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Restore or alter metadata of an existing snapshot (`REDEFINE`).
    public static let redefine = VirSnapshotCreateFlags(rawValue: 1 << 0)
    /// With `redefine`, make the snapshot current (`CURRENT`).
    public static let current = VirSnapshotCreateFlags(rawValue: 1 << 1)
    /// Do not keep libvirt metadata (`NO_METADATA`).
    public static let noMetadata = VirSnapshotCreateFlags(rawValue: 1 << 2)
    /// Stop the guest after the snapshot (`HALT`).
    public static let halt = VirSnapshotCreateFlags(rawValue: 1 << 3)
    /// Disk state only, no memory (`DISK_ONLY`).
    public static let diskOnly = VirSnapshotCreateFlags(rawValue: 1 << 4)
    /// Reuse existing external files (`REUSE_EXT`).
    public static let reuseExternal = VirSnapshotCreateFlags(rawValue: 1 << 5)
    /// Freeze guest file systems through the guest agent (`QUIESCE`).
    public static let quiesce = VirSnapshotCreateFlags(rawValue: 1 << 6)
    /// All disks or none (`ATOMIC`).
    public static let atomic = VirSnapshotCreateFlags(rawValue: 1 << 7)
    /// Keep the guest running while saving memory (`LIVE`).
    public static let live = VirSnapshotCreateFlags(rawValue: 1 << 8)
    /// Validate the XML against the schema (`VALIDATE`).
    public static let validate = VirSnapshotCreateFlags(rawValue: 1 << 9)
}

/// Filters for ``VirDomain/listAllSnapshots(flags:)`` (`virDomainSnapshotListFlags`); empty lists all.
public struct VirSnapshotListFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_SNAPSHOT_LIST_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Only snapshots without a parent (`ROOTS`).
    public static let roots = VirSnapshotListFlags(rawValue: 1 << 0)
    /// Only snapshots with metadata (`METADATA`).
    public static let metadata = VirSnapshotListFlags(rawValue: 1 << 1)
    /// Only snapshots without children (`LEAVES`).
    public static let leaves = VirSnapshotListFlags(rawValue: 1 << 2)
    /// Only snapshots with children (`NO_LEAVES`).
    public static let noLeaves = VirSnapshotListFlags(rawValue: 1 << 3)
    /// Only snapshots without metadata (`NO_METADATA`).
    public static let noMetadata = VirSnapshotListFlags(rawValue: 1 << 4)
    /// Only snapshots taken while the guest was off (`INACTIVE`).
    public static let inactive = VirSnapshotListFlags(rawValue: 1 << 5)
    /// Only snapshots taken while the guest was running (`ACTIVE`).
    public static let active = VirSnapshotListFlags(rawValue: 1 << 6)
    /// Only disk-only snapshots (`DISK_ONLY`).
    public static let diskOnly = VirSnapshotListFlags(rawValue: 1 << 7)
    /// Only internal snapshots (`INTERNAL`).
    public static let `internal` = VirSnapshotListFlags(rawValue: 1 << 8)
    /// Only external snapshots (`EXTERNAL`).
    public static let external = VirSnapshotListFlags(rawValue: 1 << 9)
    /// Parents before children (`TOPOLOGICAL`).
    public static let topological = VirSnapshotListFlags(rawValue: 1 << 10)
}

/// Flags for ``VirDomainSnapshot/revert(flags:)`` (`virDomainSnapshotRevertFlags`).
public struct VirSnapshotRevertFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_SNAPSHOT_REVERT_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Run the domain after reverting (`RUNNING`).
    public static let running = VirSnapshotRevertFlags(rawValue: 1 << 0)
    /// Pause the domain after reverting (`PAUSED`).
    public static let paused = VirSnapshotRevertFlags(rawValue: 1 << 1)
    /// Allow risky reverts (`FORCE`).
    public static let force = VirSnapshotRevertFlags(rawValue: 1 << 2)
    /// Re-initialise NVRAM from its template (`RESET_NVRAM`).
    public static let resetNVRAM = VirSnapshotRevertFlags(rawValue: 1 << 3)
}

/// Flags for ``VirDomainSnapshot/delete(flags:)`` (`virDomainSnapshotDeleteFlags`).
public struct VirSnapshotDeleteFlags: OptionSet, Sendable, Hashable {
    /// The C flag bits.
    public let rawValue: UInt32
    /// Wraps raw flag bits.
    /// - Parameter rawValue: `VIR_DOMAIN_SNAPSHOT_DELETE_*` bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Also delete children (`CHILDREN`).
    public static let children = VirSnapshotDeleteFlags(rawValue: 1 << 0)
    /// Delete only libvirt's metadata (`METADATA_ONLY`).
    public static let metadataOnly = VirSnapshotDeleteFlags(rawValue: 1 << 1)
    /// Delete only the children (`CHILDREN_ONLY`).
    public static let childrenOnly = VirSnapshotDeleteFlags(rawValue: 1 << 2)
}
