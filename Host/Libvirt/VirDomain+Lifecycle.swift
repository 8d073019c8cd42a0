internal import CLibvirt

extension VirDomain {
    /// Starts a defined domain. The corresponding C function is `virDomainCreateWithFlags`.
    /// - Parameter flags: Start flags, e.g. `.paused`.
    /// - Throws: `VirError`, `.operationInvalid` when the domain is already running.
    public func create(flags: VirDomainStartFlags = []) throws {
        try VirError.check("virDomainCreateWithFlags") { virDomainCreateWithFlags(pointer, flags.rawValue) }
    }

    /// Asks the guest to shut down and returns at once; the guest may ignore the request. The corresponding C
    /// function is `virDomainShutdownFlags`.
    /// - Parameter flags: Shutdown methods; empty lets the hypervisor choose.
    /// - Throws: `VirError`, `.operationInvalid` when the domain is not running.
    public func shutdown(flags: VirDomainShutdownFlags = []) throws {
        try VirError.check("virDomainShutdownFlags") { virDomainShutdownFlags(pointer, flags.rawValue) }
    }

    /// Stops the domain immediately (power off); a transient domain disappears. The corresponding C function is
    /// `virDomainDestroyFlags`.
    /// - Parameter flags: Destroy flags.
    /// - Throws: `VirError`, `.operationInvalid` when the domain is not running.
    public func destroy(flags: VirDomainDestroyFlags = []) throws {
        try VirError.check("virDomainDestroyFlags") { virDomainDestroyFlags(pointer, flags.rawValue) }
    }

    /// Pauses a running domain. The corresponding C function is `virDomainSuspend`.
    /// - Throws: `VirError`.
    public func suspend() throws {
        try VirError.check("virDomainSuspend") { virDomainSuspend(pointer) }
    }

    /// Resumes a paused domain. The corresponding C function is `virDomainResume`.
    /// - Throws: `VirError`.
    public func resume() throws {
        try VirError.check("virDomainResume") { virDomainResume(pointer) }
    }

    /// Removes the persistent definition with exactly `flags`; a running domain becomes transient. The
    /// corresponding C function is `virDomainUndefineFlags`.
    /// - Parameter flags: What else to remove, e.g. `.snapshotsMetadata`.
    /// - Throws: `VirError`, e.g. `.operationInvalid` when snapshots exist and `.snapshotsMetadata` is missing, or
    ///   `.invalidArgument` when the driver does not support a flag.
    public func undefine(flags: VirDomainUndefineFlags) throws {
        try VirError.check("virDomainUndefineFlags") { virDomainUndefineFlags(pointer, flags.rawValue) }
    }

    /// Removes the persistent definition together with everything in `flags` the driver supports.
    ///
    /// Drivers reject flags they do not know with `.invalidArgument` and the message
    /// `unsupported flags (0x…) in function …`; those bits are removed and the call retried, so the same code works
    /// on the QEMU and test drivers. Any other error is thrown unchanged. The corresponding C function is
    /// `virDomainUndefineFlags`.
    /// - Parameter flags: What to remove; defaults to ``VirDomainUndefineFlags/removeAll``.
    /// - Returns: The flags that were finally accepted.
    /// - Throws: `VirError` from the last attempt.
    @discardableResult
    public func undefineRemovingMetadata(
        flags: VirDomainUndefineFlags = .removeAll
    ) throws -> VirDomainUndefineFlags {
        var remaining = flags
        while true {
            virResetLastError()
            if virDomainUndefineFlags(pointer, remaining.rawValue) >= 0 {
                return remaining
            }
            let error = VirError.last(function: "virDomainUndefineFlags")
            guard error.code == .invalidArgument, let bits = Self.unsupportedFlagBits(in: error.message) else {
                throw error
            }
            let rejected = VirDomainUndefineFlags(rawValue: bits)
            // Stop when the rejected bits are not ours, so the loop always shrinks `remaining`.
            guard !remaining.isDisjoint(with: rejected) else {
                throw error
            }
            remaining.subtract(rejected)
        }
    }

    /// Parses libvirt's `unsupported flags (0x…)` message.
    static func unsupportedFlagBits(in message: String) -> UInt32? {
        guard let marker = message.firstRange(of: "unsupported flags (0x") else {
            return nil
        }
        let hex = message[marker.upperBound...].prefix { $0.isHexDigit }
        return UInt32(hex, radix: 16)
    }
}
