internal import CLibvirt
public import Foundation

/// A libvirt domain (`virDomainPtr`), i.e. a virtual machine, running or only defined.
///
/// Calls are synchronous and may block; the handle is released when the last reference goes away. The handle
/// keeps its connection alive inside libvirt.
// Safe as @unchecked Sendable: libvirt's public objects are thread-safe (reference counted with internal locks),
// the pointer is immutable after init, and errors are read from libvirt's thread-local last error.
public final class VirDomain: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        virDomainFree(pointer)
    }

    /// The domain name. The corresponding C function is `virDomainGetName`.
    /// - Throws: `VirError`.
    public func name() throws -> String {
        let cName = try VirError.checkValue("virDomainGetName") { virDomainGetName(pointer) }
        return String(cString: cName)
    }

    /// The domain UUID in lower-case text form. The corresponding C function is `virDomainGetUUIDString`.
    /// - Throws: `VirError`.
    public func uuidString() throws -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        try VirError.check("virDomainGetUUIDString") { virDomainGetUUIDString(pointer, &buffer) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The domain UUID. The corresponding C function is `virDomainGetUUIDString`.
    /// - Throws: `VirError`, also when libvirt returns text that is not a UUID.
    public func uuid() throws -> UUID {
        let text = try uuidString()
        guard let uuid = UUID(uuidString: text) else {
            throw VirError(
                code: .internalError,
                domain: .domain,
                message: "libvirt returned a malformed UUID '\(text)'",
                function: "virDomainGetUUIDString"
            )
        }
        return uuid
    }

    /// The hypervisor ID of a running domain, `nil` when the domain is not running. The corresponding C function
    /// is `virDomainGetID`.
    public var id: Int? {
        let id = virDomainGetID(pointer)
        return id == UInt32.max ? nil : Int(id)
    }

    /// Whether the domain is running. The corresponding C function is `virDomainIsActive`.
    /// - Throws: `VirError`.
    public func isActive() throws -> Bool {
        try VirError.check("virDomainIsActive") { virDomainIsActive(pointer) } == 1
    }

    /// Whether the domain has a persistent definition. The corresponding C function is `virDomainIsPersistent`.
    /// - Throws: `VirError`.
    public func isPersistent() throws -> Bool {
        try VirError.check("virDomainIsPersistent") { virDomainIsPersistent(pointer) } == 1
    }

    /// The run state. The corresponding C function is `virDomainGetState`.
    /// - Throws: `VirError`, e.g. `.noDomain` when the domain was undefined meanwhile.
    public func state() throws -> VirDomainState {
        var state: CInt = 0
        var reason: CInt = 0
        try VirError.check("virDomainGetState") { virDomainGetState(pointer, &state, &reason, 0) }
        return VirDomainState(rawValue: Int(state))
    }

    /// State, vCPUs, memory and CPU time. The corresponding C function is `virDomainGetInfo`.
    /// - Throws: `VirError`.
    public func info() throws -> VirDomainInfo {
        var info = virDomainInfo()
        try VirError.check("virDomainGetInfo") { virDomainGetInfo(pointer, &info) }
        return VirDomainInfo(
            state: VirDomainState(rawValue: Int(info.state)),
            maxMemoryKiB: Int(info.maxMem),
            memoryKiB: Int(info.memory),
            vcpuCount: Int(info.nrVirtCpu),
            cpuTime: .nanoseconds(Int64(clamping: info.cpuTime))
        )
    }

    /// The domain XML. The corresponding C function is `virDomainGetXMLDesc`.
    /// - Parameter flags: E.g. `.inactive` for the persistent configuration of a running domain.
    /// - Returns: The XML document.
    /// - Throws: `VirError`.
    public func xmlDescription(flags: VirDomainXMLFlags = []) throws -> String {
        try VirError.checkString("virDomainGetXMLDesc") { virDomainGetXMLDesc(pointer, flags.rawValue) }
    }

    /// Whether the domain starts with the host. The corresponding C function is `virDomainGetAutostart`.
    /// - Throws: `VirError`.
    public func autostart() throws -> Bool {
        var value: CInt = 0
        try VirError.check("virDomainGetAutostart") { virDomainGetAutostart(pointer, &value) }
        return value != 0
    }

    /// Sets whether the domain starts with the host. The corresponding C function is `virDomainSetAutostart`.
    /// - Parameter enabled: The new setting.
    /// - Throws: `VirError`, e.g. for transient domains.
    public func setAutostart(_ enabled: Bool) throws {
        try VirError.check("virDomainSetAutostart") { virDomainSetAutostart(pointer, enabled ? 1 : 0) }
    }
}
