import Foundation
import Libvirt
public import Logging

/// A VM as `vm list` and `vm show` present it: the inventory's record joined with libvirt's live view.
public struct VMStatus: Codable, Sendable, Equatable {
    /// The inventory record.
    public var record: VMRecord
    /// libvirt's state word (`running`, `shut off`, …), ``suspended`` for a VM parked in a managed save file, or
    /// `missing` when libvirt has no such domain.
    public var state: String
    /// Online vCPUs as libvirt reports them.
    public var vcpus: Int?
    /// The memory the domain's persistent configuration gives it (`<currentMemory>`, what the profile set), in
    /// MiB; not the live balloon, which reads high while a guest boots.
    public var memoryMiB: Int?

    enum CodingKeys: String, CodingKey {
        case record, state, vcpus
        case memoryMiB = "memory_mib"
    }
}

/// Creates, starts, stops, scales and deletes VMs through libvirt and keeps the inventory in step.
public final class VMManager: Sendable {
    /// The settings in force.
    public let configuration: SupervisorConfiguration
    /// Where files live.
    public let layout: StateLayout
    /// The inventory.
    public let inventory: Inventory
    /// Known resource profiles.
    public let profiles: ProfileCatalog
    let connection: VirConnection
    let logger: Logger

    /// Opens the inventory and connects to libvirt.
    /// - Throws: ``SupervisorError/Code/libvirtUnavailable`` with how to start libvirt when it cannot be reached.
    public init(configuration: SupervisorConfiguration, logger: Logger) async throws(SupervisorError) {
        self.configuration = configuration
        self.layout = StateLayout(root: configuration.stateDirectory)
        self.logger = logger
        self.profiles = try ProfileCatalog(custom: configuration.customProfiles)
        try HostFiles.privateDirectory(configuration.stateDirectory, qemuTraversable: true)
        self.inventory = try Inventory(
            path: layout.inventoryPath, healthHistoryLimit: configuration.healthHistoryLimit)
        let uri = configuration.libvirtURI
        do {
            connection = try await BlockingExecutor.run { try VirConnection(uri: uri) }
        } catch {
            throw SupervisorError(
                .libvirtUnavailable,
                "cannot connect to libvirt at \(uri); start it with `provisioning/setup-host.sh` "
                    + "(or `systemctl start libvirtd`)", cause: error)
        }
    }

    /// Runs a libvirt call off the cooperative pool, turning its error into a ``SupervisorError``.
    func libvirt<T: Sendable>(
        _ what: String, vm: String? = nil, _ body: @escaping @Sendable (VirConnection) throws -> T
    ) async throws(SupervisorError) -> T {
        let connection = self.connection
        do {
            return try await BlockingExecutor.run { try body(connection) }
        } catch let error as VirError where error.code == .noDomain {
            let domain = vm.flatMap { try? inventory.vm(named: $0)?.domain } ?? vm ?? "?"
            throw SupervisorError(.notFound, "libvirt has no domain named '\(domain)'", cause: error)
        } catch {
            throw SupervisorError(.libvirt, "cannot \(what)", cause: error)
        }
    }

    /// The inventory record of a VM.
    /// - Throws: ``SupervisorError/Code/notFound`` naming the VM.
    public func record(_ name: String) throws(SupervisorError) -> VMRecord {
        guard let record = try inventory.vm(named: name) else {
            throw SupervisorError(.notFound, "no VM named '\(name)' (see `somnus vm list`)")
        }
        return record
    }

    // MARK: Create and delete

    /// Creates a VM: a qcow2 overlay on the base image and a persistent libvirt domain, not yet started.
    /// - Parameters:
    ///   - name: The new VM's name.
    ///   - imageDirectory: The base image; defaults to the state directory's.
    ///   - profileName: The profile to start with.
    ///   - diskGiB: The overlay's virtual size.
    ///   - accelerator: KVM or TCG; probed when `nil` and not configured.
    ///   - poolImage: For a warm pool VM (named with ``VMRecord/poolPrefix``): the base image's input hash.
    /// - Returns: The stored record.
    public func create(
        name: String, imageDirectory: String? = nil, profileName: String = "idle", diskGiB: Int = 20,
        accelerator requested: Accelerator? = nil, poolImage: String? = nil
    ) async throws(SupervisorError) -> VMRecord {
        try VMRecord.validate(name: name, pool: poolImage != nil)
        let profile = try profiles.profile(named: profileName)
        guard !profile.gpu else {
            throw SupervisorError(
                .capacity, "profile '\(profile.name)' needs a GPU and this host attaches none to VMs")
        }
        guard (1...2048).contains(diskGiB) else {
            throw SupervisorError(.invalidArgument, "disk size \(diskGiB) GiB is outside 1...2048")
        }
        if try inventory.vm(named: name) != nil {
            throw SupervisorError(.alreadyExists, "a VM named '\(name)' already exists")
        }
        let exists = try await libvirt("look up domains") { connection in
            try connection.listAllDomains().contains { (try? $0.name()) == name }
        }
        if exists {
            throw SupervisorError(
                .alreadyExists, "libvirt already has a domain named '\(name)' that Somnus does not manage")
        }
        let image = try BaseImage.locate(imageDirectory ?? layout.baseImageDirectory)
        try checkQEMUAccess(image)
        let accelerator = requested ?? configuration.accelerator ?? probeAccelerator()

        let directory = layout.vmDirectory(name)
        let disk = directory + "/disk.qcow2"
        let console = directory + "/console.log"
        guard !FileManager.default.fileExists(atPath: disk) else {
            throw SupervisorError(.alreadyExists, "\(disk) exists already; it is never overwritten")
        }
        try HostFiles.privateDirectory(layout.vmsDirectory, qemuTraversable: true)
        try HostFiles.privateDirectory(directory, qemuTraversable: true)
        // Until the record is stored, no other process (a pool fill, another command) may pick the same address.
        let lockPath = configuration.stateDirectory + "/create.lock"
        let lock = try await BlockingExecutor.run { () throws(SupervisorError) in
            try StateLock(path: lockPath, wait: true)
        }
        defer { lock?.release() }
        let staticAddress: String?
        do {
            staticAddress = try await freeStaticAddress(for: name)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let record = VMRecord(
            name: name, uuid: UUID().uuidString.lowercased(), profile: profile.name, accelerator: accelerator,
            diskPath: disk, consoleLogPath: console, macAddress: try newMACAddress(), staticAddress: staticAddress,
            poolImage: poolImage)
        do {
            // The overlay exists at 0600 before qemu-img writes into it (qemu-img keeps an existing file's mode).
            try HostFiles.createExclusive(disk, contents: [], mode: 0o600)
            try await HostCommand.run(
                "qemu-img",
                [
                    "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.diskPath, disk,
                    "\(diskGiB)G",
                ])
            let spec = DomainSpec(
                name: name, uuid: record.uuid, accelerator: accelerator, cpuModel: configuration.cpuModel,
                vcpus: profile.vcpus, maximumVCPUs: profiles.maximumVCPUs, memoryMiB: profile.memoryMiB,
                maximumMemoryMiB: profiles.maximumMemoryMiB, kernelPath: image.kernelPath,
                initrdPath: image.initrdPath,
                kernelCommandLine: ([image.image.cmdline] + accelerator.kernelArguments).joined(separator: " "),
                diskPath: disk,
                network: configuration.network, macAddress: record.macAddress,
                networkFilter: configuration.networkFilter, filterIPAddress: staticAddress, consoleLogPath: console)
            let xml = spec.xml()
            _ = try await libvirt("define domain '\(name)'") { try $0.defineDomain(xml: xml) }
            if let staticAddress {
                try await addDHCPHost(name: name, macAddress: record.macAddress, address: staticAddress)
            }
            try inventory.insert(record)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            try? await removeDHCPHost(name: name, macAddress: record.macAddress)
            _ = try? await libvirt("clean up domain '\(name)'", vm: name) {
                try $0.lookupDomain(name: name).undefineRemovingMetadata()
            }
            throw error
        }
        logger.info("vm created", metadata: ["vm.name": "\(name)", "vm.uuid": "\(record.uuid)"])
        return record
    }

    private func probeAccelerator() -> Accelerator {
        let probe = Accelerator.probe()
        if probe.accelerator == .tcg {
            logger.warning("using TCG", metadata: ["reason": "\(probe.reason)"])
        }
        return probe.accelerator
    }

    private func newMACAddress() throws(SupervisorError) -> String {
        let used = try inventory.macAddresses()
        while true {
            let bytes = (0..<3).map { _ in UInt8.random(in: 0...255) }
            let mac = "52:54:00:" + bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
            if !used.contains(mac) { return mac }
        }
    }

    /// Deletes a VM: destroys it, undefines it with its snapshot metadata and nvram, removes its files and its
    /// inventory rows. A domain libvirt no longer has is not an error.
    public func delete(name: String) async throws(SupervisorError) {
        let record = try record(name)
        let domainName = record.domain
        _ = try await libvirt("delete domain '\(name)'", vm: name) { connection -> Bool in
            let domain: VirDomain
            do {
                domain = try connection.lookupDomain(name: domainName)
            } catch let error as VirError where error.code == .noDomain {
                return false
            }
            if try domain.isActive() {
                try domain.destroy()
            }
            try domain.undefineRemovingMetadata()
            return true
        }
        try await removeDHCPHost(name: domainName, macAddress: record.macAddress)
        let directory = (record.diskPath as NSString).deletingLastPathComponent
        try? FileManager.default.removeItem(atPath: directory)
        try inventory.deleteVM(named: name)
        logger.info("vm deleted", metadata: ["vm.name": "\(name)"])
    }

    // MARK: Lifecycle

    /// Starts a defined VM; starting a running one is a no-op.
    ///
    /// A VM without its network pin (static address, DHCP host entry, interface filter; created before pinning)
    /// gets it first; the redefined interface takes effect when the domain starts.
    public func start(name: String) async throws(SupervisorError) {
        let record = try record(name)
        let domainName = record.domain
        try HostFiles.privateDirectory(layout.vmDirectory(domainName), qemuTraversable: true)
        try HostFiles.narrow(record.diskPath, to: 0o600)
        try await ensureNetworkPin(record)
        try await libvirt("start '\(name)'", vm: name) { connection in
            let domain = try connection.lookupDomain(name: domainName)
            if try !domain.isActive() {
                try domain.create()
            }
        }
    }

    /// Stops a VM: ACPI shutdown, then destroy when it is still running after `deadline`.
    /// - Returns: `true` when it shut down cleanly, `false` when it had to be destroyed.
    @discardableResult
    public func stop(name: String, deadline: Duration = .seconds(60)) async throws(SupervisorError) -> Bool {
        let domainName = try record(name).domain
        let active = try await libvirt("shut down '\(name)'", vm: name) { connection -> Bool in
            let domain = try connection.lookupDomain(name: domainName)
            guard try domain.isActive() else { return false }
            try domain.shutdown()
            return true
        }
        guard active else { return true }
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while clock.now < end {
            let running = try await libvirt("check '\(name)'", vm: name) {
                try $0.lookupDomain(name: domainName).isActive()
            }
            if !running { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        logger.warning("shutdown deadline passed; destroying", metadata: ["vm.name": "\(name)"])
        try await libvirt("destroy '\(name)'", vm: name) { connection in
            let domain = try connection.lookupDomain(name: domainName)
            if try domain.isActive() { try domain.destroy() }
        }
        return false
    }

    /// The inventory record joined with libvirt's view of it.
    public func status(name: String) async throws(SupervisorError) -> VMStatus {
        let record = try record(name)
        return await status(of: record)
    }

    /// Every VM with libvirt's view of it.
    public func list() async throws(SupervisorError) -> [VMStatus] {
        var result: [VMStatus] = []
        for record in try inventory.allVMs() {
            result.append(await status(of: record))
        }
        return result
    }

    func status(of record: VMRecord) async -> VMStatus {
        let name = record.name
        let domainName = record.domain
        let read = try? await libvirt("read '\(name)'", vm: name) { connection in
            let domain = try connection.lookupDomain(name: domainName)
            let info = try domain.info()
            let suspended = try info.state == .shutOff && domain.hasManagedSaveImage()
            return (info, try domain.xmlDescription(flags: .inactive), suspended)
        }
        guard let (info, configuration, suspended) = read else {
            return VMStatus(record: record, state: "missing", vcpus: nil, memoryMiB: nil)
        }
        return VMStatus(
            record: record, state: suspended ? VMStatus.suspended : info.state.description, vcpus: info.vcpuCount,
            memoryMiB: VMStatus.configuredMemoryMiB(domainXML: configuration) ?? info.memoryKiB / 1024)
    }

    /// The names of every domain libvirt has, Somnus's or not.
    func domainNames() async throws(SupervisorError) -> [String] {
        try await libvirt("list domains") { connection in try connection.listAllDomains().map { try $0.name() } }
    }

    /// Whether libvirt runs the VM now.
    public func isRunning(name: String) async throws(SupervisorError) -> Bool {
        let domainName = try record(name).domain
        return try await libvirt("read '\(name)'", vm: name) { try $0.lookupDomain(name: domainName).isActive() }
    }

    /// The guest's IPv4 address from the VM network's DHCP leases, or `nil` while it has none.
    public func leasedAddress(name: String) async throws(SupervisorError) -> String? {
        let record = try record(name)
        let network = configuration.network
        let mac = record.macAddress
        return try await libvirt("read DHCP leases of '\(network)'") { connection in
            try connection.lookupNetwork(name: network).dhcpLeases(macAddress: mac)
                .first { $0.family == .ipv4 }?.address
        }
    }

    /// Refuses a profile whose memory exceeds the host's.
    /// - Throws: ``SupervisorError/Code/capacity`` with both numbers.
    func checkCapacity(_ profile: ResourceProfile) async throws(SupervisorError) {
        let node = try await libvirt("read host capacity") { try $0.nodeInfo() }
        let hostMiB = node.memoryKiB / 1024
        guard profile.memoryMiB <= hostMiB else {
            throw SupervisorError(
                .capacity,
                "profile '\(profile.name)' asks for \(profile.memoryMiB) MiB but the host has \(hostMiB) MiB")
        }
    }

    /// Applies a profile to a running VM live and to its persistent definition.
    ///
    /// - Throws: ``SupervisorError/Code/capacity`` with the numbers when the host cannot hold it.
    public func applyProfile(name: String, profileName: String) async throws(SupervisorError) -> ResourceProfile {
        var record = try record(name)
        let profile = try profiles.profile(named: profileName)
        guard !profile.gpu else {
            throw SupervisorError(
                .capacity, "profile '\(profile.name)' needs a GPU and this host attaches none to VMs")
        }
        try await checkCapacity(profile)
        try await refuseIfSuspended(name, "changing its profile")
        let domainName = record.domain
        try await libvirt("apply profile '\(profile.name)' to '\(name)'", vm: name) { connection in
            let domain = try connection.lookupDomain(name: domainName)
            // Live first, so a guest that refuses the change leaves the persistent definition untouched;
            // drivers differ on accepting live and config together, so they are separate calls.
            if try domain.isActive() {
                try domain.setVCPUs(profile.vcpus, flags: .live)
                try domain.setMemory(kibibytes: profile.memoryMiB * 1024, flags: .live)
            }
            try domain.setVCPUs(profile.vcpus, flags: .config)
            try domain.setMemory(kibibytes: profile.memoryMiB * 1024, flags: .config)
        }
        record.profile = profile.name
        try inventory.update(record)
        return profile
    }
}
