internal import CLibvirt

/// A connection to a libvirt driver (`virConnectPtr`), e.g. `qemu:///system` or the in-process `test:///default`.
///
/// Every call is synchronous and may block (remote drivers talk to a daemon); callers in async code move calls off
/// Swift's cooperative pool. The connection is closed when the last reference goes away.
// Safe as @unchecked Sendable: libvirt's public objects are thread-safe (reference counted with internal locks),
// the pointer is immutable after init, and errors are read from libvirt's thread-local last error.
public final class VirConnection: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Opens a connection.
    /// - Parameters:
    ///   - uri: The libvirt URI, e.g. `qemu:///system`, `test:///default` or `qemu+ssh://host/system`.
    ///   - readOnly: Opens a read-only connection (`virConnectOpenReadOnly`).
    /// - Throws: `VirError`, e.g. `.noConnect` when no driver handles the URI or `.systemError` when the daemon
    ///   refuses the connection. The corresponding C function is `virConnectOpen`.
    public init(uri: String, readOnly: Bool = false) throws {
        try VirLibrary.ensureInitialized()
        let function = readOnly ? "virConnectOpenReadOnly" : "virConnectOpen"
        pointer = try uri.withCString { cURI in
            try VirError.checkValue(function) {
                readOnly ? virConnectOpenReadOnly(cURI) : virConnectOpen(cURI)
            }
        }
    }

    deinit {
        virConnectClose(pointer)
    }

    /// The canonical URI of the connection. The corresponding C function is `virConnectGetURI`.
    /// - Throws: `VirError`.
    public func uri() throws -> String {
        try VirError.checkString("virConnectGetURI") { virConnectGetURI(pointer) }
    }

    /// The host name of the hypervisor host. The corresponding C function is `virConnectGetHostname`.
    /// - Throws: `VirError`.
    public func hostname() throws -> String {
        try VirError.checkString("virConnectGetHostname") { virConnectGetHostname(pointer) }
    }

    /// Whether the connection is still usable. The corresponding C function is `virConnectIsAlive`.
    /// - Throws: `VirError`.
    public func isAlive() throws -> Bool {
        try VirError.check("virConnectIsAlive") { virConnectIsAlive(pointer) } == 1
    }

    /// The libvirt library version as `major.minor.release`. The corresponding C function is
    /// `virConnectGetLibVersion`.
    /// - Throws: `VirError`.
    public func libraryVersion() throws -> String {
        var version: UInt = 0
        try VirError.check("virConnectGetLibVersion") { virConnectGetLibVersion(pointer, &version) }
        return "\(version / 1_000_000).\(version / 1_000 % 1_000).\(version % 1_000)"
    }

    /// The host's CPU and memory layout. The corresponding C function is `virNodeGetInfo`.
    /// - Throws: `VirError`.
    public func nodeInfo() throws -> VirNodeInfo {
        var info = virNodeInfo()
        try VirError.check("virNodeGetInfo") { virNodeGetInfo(pointer, &info) }
        let model = withUnsafeBytes(of: info.model) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return VirNodeInfo(
            model: model,
            memoryKiB: Int(info.memory),
            cpus: Int(info.cpus),
            mhz: Int(info.mhz),
            numaNodes: Int(info.nodes),
            sockets: Int(info.sockets),
            cores: Int(info.cores),
            threads: Int(info.threads)
        )
    }

    /// The host's free memory in bytes. The corresponding C function is `virNodeGetFreeMemory`.
    /// - Throws: `VirError` when libvirt reports 0 together with an error.
    public func freeMemoryBytes() throws -> Int {
        virResetLastError()
        let bytes = virNodeGetFreeMemory(pointer)
        if bytes == 0, virGetLastError() != nil {
            throw VirError.last(function: "virNodeGetFreeMemory")
        }
        return Int(clamping: bytes)
    }

    /// The hypervisor capabilities XML. The corresponding C function is `virConnectGetCapabilities`.
    /// - Throws: `VirError`.
    public func capabilitiesXML() throws -> String {
        try VirError.checkString("virConnectGetCapabilities") { virConnectGetCapabilities(pointer) }
    }

    /// The domain capabilities XML for one emulator, architecture, machine and virtualization type; `nil` lets
    /// libvirt choose. The corresponding C function is `virConnectGetDomainCapabilities`.
    /// - Parameters:
    ///   - emulatorBinary: Path of the emulator, e.g. `/usr/bin/qemu-system-x86_64`.
    ///   - architecture: Guest architecture, e.g. `x86_64`.
    ///   - machine: Machine type, e.g. `q35`.
    ///   - virtualizationType: `kvm` or `qemu`.
    /// - Throws: `VirError`, `.noSupport` on drivers without domain capabilities.
    public func domainCapabilitiesXML(
        emulatorBinary: String? = nil,
        architecture: String? = nil,
        machine: String? = nil,
        virtualizationType: String? = nil
    ) throws -> String {
        try withOptionalCString(emulatorBinary) { cEmulator in
            try withOptionalCString(architecture) { cArch in
                try withOptionalCString(machine) { cMachine in
                    try withOptionalCString(virtualizationType) { cType in
                        try VirError.checkString("virConnectGetDomainCapabilities") {
                            virConnectGetDomainCapabilities(pointer, cEmulator, cArch, cMachine, cType, 0)
                        }
                    }
                }
            }
        }
    }
}
