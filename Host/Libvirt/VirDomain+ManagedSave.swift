internal import CLibvirt

extension VirDomain {
    /// Saves a running domain's memory and device state to libvirt's managed save file and stops it; the next
    /// ``create(flags:)`` restores from that file instead of booting. The corresponding C function is
    /// `virDomainManagedSave`.
    /// - Parameter flags: How to save, e.g. `.running` to restore the domain running even if it was paused.
    /// - Throws: `VirError`, `.operationInvalid` when the domain is not running.
    public func managedSave(flags: VirDomainSaveFlags = []) throws {
        try VirError.check("virDomainManagedSave") { virDomainManagedSave(pointer, flags.rawValue) }
    }

    /// Whether the domain has a managed save file that its next start restores. The corresponding C function is
    /// `virDomainHasManagedSaveImage`.
    /// - Throws: `VirError`.
    public func hasManagedSaveImage() throws -> Bool {
        try VirError.check("virDomainHasManagedSaveImage") { virDomainHasManagedSaveImage(pointer, 0) } == 1
    }

    /// Deletes the domain's managed save file, so its next start boots afresh; a domain without one is left
    /// as it is. The corresponding C function is `virDomainManagedSaveRemove`.
    /// - Throws: `VirError`, `.operationInvalid` when the domain is running.
    public func removeManagedSaveImage() throws {
        try VirError.check("virDomainManagedSaveRemove") { virDomainManagedSaveRemove(pointer, 0) }
    }
}
