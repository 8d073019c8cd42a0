internal import CLibvirt

extension VirDomain {
    /// Creates a snapshot from `<domainsnapshot>` XML. The corresponding C function is
    /// `virDomainSnapshotCreateXML`.
    /// - Parameters:
    ///   - xml: The snapshot XML; build it with ``VirDomainSnapshot/xml(name:description:)`` to escape text.
    ///   - flags: Create flags, e.g. `.diskOnly` or `.quiesce`.
    /// - Returns: The new snapshot.
    /// - Throws: `VirError`, e.g. `.xmlError` for malformed XML.
    public func createSnapshot(xml: String, flags: VirSnapshotCreateFlags = []) throws -> VirDomainSnapshot {
        let snapshot = try xml.withCString { cXML in
            try VirError.checkValue("virDomainSnapshotCreateXML") {
                virDomainSnapshotCreateXML(pointer, cXML, flags.rawValue)
            }
        }
        return VirDomainSnapshot(snapshot)
    }

    /// Creates a snapshot with a name and a description, escaping both into the XML. The corresponding C function
    /// is `virDomainSnapshotCreateXML`.
    /// - Parameters:
    ///   - name: The snapshot name.
    ///   - description: Free text, or `nil`.
    ///   - flags: Create flags.
    /// - Returns: The new snapshot.
    /// - Throws: `VirError`, e.g. `.invalidArgument` or `.operationInvalid` when the name is taken.
    public func createSnapshot(
        name: String,
        description: String? = nil,
        flags: VirSnapshotCreateFlags = []
    ) throws -> VirDomainSnapshot {
        try createSnapshot(xml: VirDomainSnapshot.xml(name: name, description: description), flags: flags)
    }

    /// Lists the domain's snapshots. The corresponding C function is `virDomainListAllSnapshots`.
    /// - Parameter flags: Filters; empty lists all.
    /// - Returns: The snapshots.
    /// - Throws: `VirError`.
    public func listAllSnapshots(flags: VirSnapshotListFlags = []) throws -> [VirDomainSnapshot] {
        var array: UnsafeMutablePointer<virDomainSnapshotPtr?>?
        let count = try VirError.check("virDomainListAllSnapshots") {
            virDomainListAllSnapshots(pointer, &array, flags.rawValue)
        }
        guard let array else {
            return []
        }
        defer { freeLibvirtMemory(array) }
        return (0..<Int(count)).compactMap { index in array[index].map(VirDomainSnapshot.init) }
    }

    /// The number of snapshots. The corresponding C function is `virDomainSnapshotNum`.
    /// - Parameter flags: Filters; empty counts all.
    /// - Returns: The count.
    /// - Throws: `VirError`.
    public func snapshotCount(flags: VirSnapshotListFlags = []) throws -> Int {
        Int(try VirError.check("virDomainSnapshotNum") { virDomainSnapshotNum(pointer, flags.rawValue) })
    }

    /// Looks a snapshot up by name. The corresponding C function is `virDomainSnapshotLookupByName`.
    /// - Parameter name: The snapshot name.
    /// - Returns: The snapshot.
    /// - Throws: `VirError` with code `.noDomainSnapshot` when the domain has no snapshot of that name.
    public func lookupSnapshot(name: String) throws -> VirDomainSnapshot {
        let snapshot = try name.withCString { cName in
            try VirError.checkValue("virDomainSnapshotLookupByName", subject: name) {
                virDomainSnapshotLookupByName(pointer, cName, 0)
            }
        }
        return VirDomainSnapshot(snapshot)
    }

    /// The current snapshot, `nil` when there is none. The corresponding C functions are
    /// `virDomainHasCurrentSnapshot` and `virDomainSnapshotCurrent`.
    /// - Throws: `VirError`.
    public func currentSnapshot() throws -> VirDomainSnapshot? {
        let hasCurrent = try VirError.check("virDomainHasCurrentSnapshot") { virDomainHasCurrentSnapshot(pointer, 0) }
        guard hasCurrent == 1 else {
            return nil
        }
        return VirDomainSnapshot(
            try VirError.checkValue("virDomainSnapshotCurrent") { virDomainSnapshotCurrent(pointer, 0) })
    }

    /// Reverts the domain to `snapshot`. The corresponding C function is `virDomainRevertToSnapshot`.
    /// - Parameters:
    ///   - snapshot: A snapshot of this domain.
    ///   - flags: Revert flags, e.g. `.running`.
    /// - Throws: `VirError`.
    public func revert(to snapshot: VirDomainSnapshot, flags: VirSnapshotRevertFlags = []) throws {
        try snapshot.revert(flags: flags)
    }
}
