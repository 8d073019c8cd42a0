internal import CLibvirt

extension VirDomain {
    /// Sets the number of virtual CPUs. The corresponding C function is `virDomainSetVcpusFlags`.
    /// - Parameters:
    ///   - count: The new count (must be at least 1).
    ///   - flags: `.live`, `.config` or both; add `.maximum` to change the upper bound (config only).
    /// - Throws: `VirError`, e.g. `.invalidArgument` when `count` exceeds the maximum or `.operationInvalid` for
    ///   `.live` on an inactive domain.
    public func setVCPUs(_ count: Int, flags: VirDomainVCPUFlags = []) throws {
        guard let cCount = UInt32(exactly: count) else {
            throw VirError(
                code: .invalidArgument,
                domain: .domain,
                message: "vCPU count \(count) is out of range",
                function: "virDomainSetVcpusFlags"
            )
        }
        try VirError.check("virDomainSetVcpusFlags") { virDomainSetVcpusFlags(pointer, cCount, flags.rawValue) }
    }

    /// The number of virtual CPUs. The corresponding C function is `virDomainGetVcpusFlags`.
    /// - Parameter flags: `.live` or `.config`, with `.maximum` for the upper bound.
    /// - Returns: The count.
    /// - Throws: `VirError`.
    public func vcpuCount(flags: VirDomainVCPUFlags = []) throws -> Int {
        Int(try VirError.check("virDomainGetVcpusFlags") { virDomainGetVcpusFlags(pointer, flags.rawValue) })
    }

    /// Sets the memory in KiB. The corresponding C function is `virDomainSetMemoryFlags`.
    /// - Parameters:
    ///   - kibibytes: The new amount in KiB.
    ///   - flags: `.live`, `.config` or both; add `.maximum` to change the upper bound.
    /// - Throws: `VirError`, e.g. `.invalidArgument` when the amount exceeds the maximum.
    public func setMemory(kibibytes: Int, flags: VirDomainMemoryFlags = []) throws {
        guard let cAmount = UInt(exactly: kibibytes) else {
            throw VirError(
                code: .invalidArgument,
                domain: .domain,
                message: "memory size \(kibibytes) KiB is out of range",
                function: "virDomainSetMemoryFlags"
            )
        }
        try VirError.check("virDomainSetMemoryFlags") { virDomainSetMemoryFlags(pointer, cAmount, flags.rawValue) }
    }

    /// The maximum memory in KiB. The corresponding C function is `virDomainGetMaxMemory`.
    /// - Throws: `VirError`.
    public func maxMemoryKiB() throws -> Int {
        virResetLastError()
        let amount = virDomainGetMaxMemory(pointer)
        if amount == 0 {
            throw VirError.last(function: "virDomainGetMaxMemory")
        }
        return Int(clamping: amount)
    }

    /// The guest's network interfaces and their addresses. The corresponding C function is
    /// `virDomainInterfaceAddresses`.
    /// - Parameter source: `.lease` (libvirt's DHCP leases), `.agent` (QEMU guest agent) or `.arp`.
    /// - Returns: The interfaces; empty when the source knows none yet.
    /// - Throws: `VirError`, e.g. `.operationInvalid` when the domain is not running or `.agentUnresponsive`.
    public func interfaceAddresses(source: VirInterfaceAddressSource) throws -> [VirDomainInterface] {
        var array: UnsafeMutablePointer<virDomainInterfacePtr?>?
        let count = try VirError.check("virDomainInterfaceAddresses") {
            virDomainInterfaceAddresses(pointer, &array, UInt32(source.rawValue), 0)
        }
        guard let array else {
            return []
        }
        defer {
            for index in 0..<Int(count) {
                virDomainInterfaceFree(array[index])
            }
            freeLibvirtMemory(array)
        }
        return (0..<Int(count)).compactMap { index in
            guard let interface = array[index]?.pointee else {
                return nil
            }
            let addresses = (0..<Int(interface.naddrs)).compactMap { addressIndex -> VirIPAddress? in
                guard let entry = interface.addrs?[addressIndex], let address = entry.addr else {
                    return nil
                }
                return VirIPAddress(
                    family: VirIPAddressFamily(rawValue: Int(entry.type)),
                    address: String(cString: address),
                    prefix: Int(entry.prefix)
                )
            }
            return VirDomainInterface(
                name: interface.name.map { String(cString: $0) } ?? "",
                hardwareAddress: interface.hwaddr.map { String(cString: $0) },
                addresses: addresses
            )
        }
    }
}
