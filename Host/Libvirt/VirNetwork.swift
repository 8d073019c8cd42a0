internal import CLibvirt

/// A libvirt virtual network (`virNetworkPtr`).
///
/// The handle is released when the last reference goes away.
// Safe as @unchecked Sendable: libvirt's public objects are thread-safe (reference counted with internal locks),
// the pointer is immutable after init, and errors are read from libvirt's thread-local last error.
public final class VirNetwork: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        virNetworkFree(pointer)
    }

    /// The network name. The corresponding C function is `virNetworkGetName`.
    /// - Throws: `VirError`.
    public func name() throws -> String {
        String(cString: try VirError.checkValue("virNetworkGetName") { virNetworkGetName(pointer) })
    }

    /// The network UUID in lower-case text form. The corresponding C function is `virNetworkGetUUIDString`.
    /// - Throws: `VirError`.
    public func uuidString() throws -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        try VirError.check("virNetworkGetUUIDString") { virNetworkGetUUIDString(pointer, &buffer) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bridge device name, e.g. `virbr0`. The corresponding C function is `virNetworkGetBridgeName`.
    /// - Throws: `VirError`.
    public func bridgeName() throws -> String {
        try VirError.checkString("virNetworkGetBridgeName") { virNetworkGetBridgeName(pointer) }
    }

    /// The network XML. The corresponding C function is `virNetworkGetXMLDesc`.
    /// - Parameter inactive: Describe the persistent configuration (`VIR_NETWORK_XML_INACTIVE`).
    /// - Returns: The XML document.
    /// - Throws: `VirError`.
    public func xmlDescription(inactive: Bool = false) throws -> String {
        try VirError.checkString("virNetworkGetXMLDesc") { virNetworkGetXMLDesc(pointer, inactive ? 1 : 0) }
    }

    /// Whether the network is running. The corresponding C function is `virNetworkIsActive`.
    /// - Throws: `VirError`.
    public func isActive() throws -> Bool {
        try VirError.check("virNetworkIsActive") { virNetworkIsActive(pointer) } == 1
    }

    /// Whether the network has a persistent definition. The corresponding C function is `virNetworkIsPersistent`.
    /// - Throws: `VirError`.
    public func isPersistent() throws -> Bool {
        try VirError.check("virNetworkIsPersistent") { virNetworkIsPersistent(pointer) } == 1
    }

    /// Starts a defined network. The corresponding C function is `virNetworkCreate`.
    /// - Throws: `VirError`, `.operationInvalid` when it is already running.
    public func create() throws {
        try VirError.check("virNetworkCreate") { virNetworkCreate(pointer) }
    }

    /// Stops the network. The corresponding C function is `virNetworkDestroy`.
    /// - Throws: `VirError`, `.operationInvalid` when it is not running.
    public func destroy() throws {
        try VirError.check("virNetworkDestroy") { virNetworkDestroy(pointer) }
    }

    /// Removes the persistent definition. The corresponding C function is `virNetworkUndefine`.
    /// - Throws: `VirError`.
    public func undefine() throws {
        try VirError.check("virNetworkUndefine") { virNetworkUndefine(pointer) }
    }

    /// Whether the network starts with the host. The corresponding C function is `virNetworkGetAutostart`.
    /// - Throws: `VirError`.
    public func autostart() throws -> Bool {
        var value: CInt = 0
        try VirError.check("virNetworkGetAutostart") { virNetworkGetAutostart(pointer, &value) }
        return value != 0
    }

    /// Sets whether the network starts with the host. The corresponding C function is `virNetworkSetAutostart`.
    /// - Parameter enabled: The new setting.
    /// - Throws: `VirError`.
    public func setAutostart(_ enabled: Bool) throws {
        try VirError.check("virNetworkSetAutostart") { virNetworkSetAutostart(pointer, enabled ? 1 : 0) }
    }

    /// The network's current DHCP leases. The corresponding C function is `virNetworkGetDHCPLeases`.
    /// - Parameter macAddress: Only leases for this MAC address, or `nil` for all.
    /// - Returns: The leases.
    /// - Throws: `VirError`, `.noSupport` on drivers without a DHCP server.
    public func dhcpLeases(macAddress: String? = nil) throws -> [VirNetworkDHCPLease] {
        var array: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
        let count = try withOptionalCString(macAddress) { cMAC in
            try VirError.check("virNetworkGetDHCPLeases") { virNetworkGetDHCPLeases(pointer, cMAC, &array, 0) }
        }
        guard let array else {
            return []
        }
        defer {
            for index in 0..<Int(count) {
                virNetworkDHCPLeaseFree(array[index])
            }
            freeLibvirtMemory(array)
        }
        return (0..<Int(count)).compactMap { index in
            guard let lease = array[index]?.pointee else {
                return nil
            }
            return VirNetworkDHCPLease(
                interface: optionalString(lease.iface) ?? "",
                expirySeconds: Int(lease.expirytime),
                family: VirIPAddressFamily(rawValue: Int(lease.type)),
                macAddress: optionalString(lease.mac),
                iaid: optionalString(lease.iaid),
                address: optionalString(lease.ipaddr) ?? "",
                prefix: Int(lease.prefix),
                hostname: optionalString(lease.hostname),
                clientID: optionalString(lease.clientid)
            )
        }
    }
}
