import Foundation
import Libvirt
public import Logging
public import ServiceLifecycle

/// What the warm pool should hold, kept in `<state>/pool.json`.
public struct PoolSettings: Codable, Sendable, Equatable {
    /// Parked VMs to keep ready.
    public var size: Int
    /// The resource profile pool VMs are made with; a VM taken with another profile gets it live.
    public var profile: String

    /// Creates settings.
    public init(size: Int = 0, profile: String = "idle") {
        self.size = size
        self.profile = profile
    }
}

/// One VM of the warm pool as `pool status` shows it.
public struct PoolEntry: Codable, Sendable, Equatable {
    /// The pool VM's name (also its domain's).
    public var name: String
    /// The input hash of the base image it was made from.
    public var image: String
    /// Whether that image is the current one; an outdated VM is drained, never handed out.
    public var current: Bool
    /// Its profile.
    public var profile: String
    /// Its NIC's MAC address.
    public var macAddress: String
    /// `suspended` once parked; anything else while it is being made (or left over from an interrupted fill).
    public var state: String
    /// The size of its managed save file (the parked memory), when there is one.
    public var saveBytes: Int?
    /// The size of its disk overlay on the host.
    public var diskBytes: Int?

    enum CodingKeys: String, CodingKey {
        case name, image, current, profile, state
        case macAddress = "mac_address"
        case saveBytes = "save_bytes"
        case diskBytes = "disk_bytes"
    }
}

/// `pool status`: the settings, the current image and every pool VM.
public struct PoolStatus: Codable, Sendable, Equatable {
    /// What the pool should hold.
    public var settings: PoolSettings
    /// The input hash of the current base image, when one is built.
    public var currentImage: String?
    /// Parked VMs of the current image: the ones `up` can take.
    public var ready: Int
    /// The host disk all pool VMs take (save files and disk overlays).
    public var totalBytes: Int
    /// Every pool VM, oldest first.
    public var vms: [PoolEntry]

    enum CodingKeys: String, CodingKey {
        case settings, ready, vms
        case currentImage = "current_image"
        case totalBytes = "total_bytes"
    }
}

/// The warm pool: VMs booted and deployed like any other, then parked with managed save, so that `somnus up`
/// restores one in seconds instead of booting.
///
/// A pool VM is a VM of the inventory named `somnus-pool-…` with ``VMRecord/poolImage`` set, left out of
/// `vm list`. Taking one renames its inventory row to the user's name; its libvirt domain and directory keep the
/// pool name (``VMRecord/domain``). Each was booted on its own, so it has its own MAC address, machine-id, SSH host
/// keys, agent certificate and token. Filling and draining hold `<state>/pool.lock`, so a daemon and a command
/// never make VMs at once.
public struct WarmPool: Sendable {
    /// The VMs and the inventory.
    public let manager: VMManager
    let connector: AgentConnector
    let logger: Logger

    /// A pool on `manager`'s state directory.
    /// - Parameters:
    ///   - manager: The VMs and the inventory.
    ///   - connector: How agents are reached.
    ///   - logger: Receives the pool's logs.
    public init(manager: VMManager, connector: AgentConnector, logger: Logger) {
        self.manager = manager
        self.connector = connector
        self.logger = logger
    }

    var settingsPath: String { manager.configuration.stateDirectory + "/pool.json" }
    var lockPath: String { manager.configuration.stateDirectory + "/pool.lock" }

    // MARK: Settings

    /// The stored settings; the defaults (size 0, profile `idle`) when none are stored.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the file when it cannot be read.
    public func settings() throws(SupervisorError) -> PoolSettings {
        guard let data = FileManager.default.contents(atPath: settingsPath) else { return PoolSettings() }
        do {
            return try JSONDecoder().decode(PoolSettings.self, from: data)
        } catch {
            throw SupervisorError(.invalidArgument, "cannot read the pool settings in \(settingsPath)", cause: error)
        }
    }

    /// Stores settings.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` for a negative size or an unknown profile.
    public func store(_ settings: PoolSettings) throws(SupervisorError) {
        guard (0...64).contains(settings.size) else {
            throw SupervisorError(.invalidArgument, "pool size \(settings.size) is outside 0...64")
        }
        _ = try manager.profiles.profile(named: settings.profile)
        let data: Data
        do {
            data = try JSONEncoder().encode(settings)
        } catch {
            throw SupervisorError(.invalidArgument, "cannot encode the pool settings", cause: error)
        }
        try HostFiles.writePrivate(Array(data), to: settingsPath)
    }

    // MARK: Status

    /// The input hash of the newest base image built in the state directory, or `nil` when none is.
    public func builtImage() -> String? {
        try? BaseImage.locate(manager.layout.baseImageDirectory).image.inputHash
    }

    /// The pool as it is now.
    /// - Parameter currentImage: The current base image's input hash (`nil` when none is built).
    public func status(currentImage: String?) async throws(SupervisorError) -> PoolStatus {
        var entries: [PoolEntry] = []
        for record in try manager.inventory.poolVMs() {
            let state = await manager.status(of: record).state
            let saveBytes = Self.fileBytes(Self.saveFilePath(domain: record.domain))
            entries.append(
                PoolEntry(
                    name: record.name, image: record.poolImage ?? "", current: record.poolImage == currentImage,
                    profile: record.profile, macAddress: record.macAddress, state: state, saveBytes: saveBytes,
                    diskBytes: Self.fileBytes(record.diskPath)))
        }
        return PoolStatus(
            settings: try settings(), currentImage: currentImage,
            ready: entries.count { $0.current && $0.state == VMStatus.suspended },
            totalBytes: entries.reduce(0) { $0 + ($1.saveBytes ?? 0) + ($1.diskBytes ?? 0) }, vms: entries)
    }

    /// Where libvirt's QEMU driver keeps a domain's managed save file.
    static func saveFilePath(domain: String) -> String { "/var/lib/libvirt/qemu/save/\(domain).save" }

    static func fileBytes(_ path: String) -> Int? {
        guard let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] else { return nil }
        if let number = size as? NSNumber { return number.intValue }
        return (size as? any BinaryInteger).map { Int($0) }
    }

    // MARK: Take

    /// Hands the oldest parked VM of `image` to a user under `name`, or returns `nil` when none is parked.
    ///
    /// The VM stays suspended: the caller resumes it (``SuspendCoordinator/resume(vm:)``).
    /// - Parameters:
    ///   - name: The user's name for it (validated).
    ///   - image: The current base image's input hash; VMs of other images are never handed out.
    /// - Throws: ``SupervisorError/Code/alreadyExists`` when `name` is taken.
    public func take(as name: String, image: String) async throws(SupervisorError) -> VMRecord? {
        try VMRecord.validate(name: name)
        if try manager.inventory.vm(named: name) != nil {
            throw SupervisorError(.alreadyExists, "a VM named '\(name)' already exists")
        }
        for record in try manager.inventory.poolVMs() where record.poolImage == image {
            guard (try? await manager.isSuspended(name: record.name)) == true else { continue }
            if let taken = try manager.inventory.adopt(poolVM: record.name, as: name) {
                logger.info("pool vm taken", metadata: ["vm.name": "\(name)", "vm.domain": "\(taken.domain)"])
                return taken
            }
        }
        return nil
    }

    // MARK: Fill and drain

    /// Makes pool VMs until the pool holds ``PoolSettings/size`` parked VMs of `image`: first removes the VMs of
    /// other images and the leftovers of an interrupted fill, then for each missing VM creates it, boots it,
    /// deploys the agent, waits for it to be healthy and suspends it. The settings are read again before each
    /// VM, so a drain meanwhile stops the fill.
    /// - Parameters:
    ///   - image: The current base image's input hash.
    ///   - agentBinary: The agent to deploy.
    ///   - bootTimeout: How long a pool VM may take to get its address, and then to answer SSH.
    ///   - wait: Whether to wait for another fill or drain to end; `false` returns `[]` at once when one runs.
    ///   - progress: Receives a line per step.
    /// - Returns: The VMs made.
    /// - Throws: ``SupervisorError`` from the VM's creation, boot, deployment or suspension; the VM that failed is
    ///   deleted first.
    public func fill(
        image: String, agentBinary: String, bootTimeout: Duration = .seconds(600), wait: Bool = true,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(SupervisorError) -> [String] {
        guard let lock = try StateLock(path: lockPath, wait: wait) else { return [] }
        defer { lock.release() }
        try await removeUnusable(image: image, progress: progress)
        var made: [String] = []
        while true {
            let settings = try settings()
            let parked = try manager.inventory.poolVMs().count { $0.poolImage == image }
            guard parked < settings.size else { break }
            let name = VMRecord.poolPrefix + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            progress("making \(name) (\(parked + 1) of \(settings.size))")
            do {
                try await make(
                    name: name, image: image, profile: settings.profile, agentBinary: agentBinary,
                    bootTimeout: bootTimeout)
            } catch {
                logger.error("pool vm failed", metadata: ["vm.name": "\(name)", "error": "\(error)"])
                if try manager.inventory.vm(named: name) != nil {
                    try? await manager.delete(name: name)
                }
                throw error
            }
            made.append(name)
        }
        return made
    }

    private func make(
        name: String, image: String, profile: String, agentBinary: String, bootTimeout: Duration
    ) async throws(SupervisorError) {
        _ = try await manager.create(name: name, profileName: profile, poolImage: image)
        try await manager.start(name: name)
        let address = try await UpWorkflow.waitForLease(manager: manager, name: name, deadline: bootTimeout)
        let deployer = AgentDeployer(manager: manager, connector: connector, logger: logger)
        _ = try await deployer.ensureDeployed(
            vm: name, address: address, agentBinary: agentBinary, sshDeadline: bootTimeout)
        let health = await HealthPoller(manager: manager, connector: connector, logger: logger).probe(
            try manager.record(name))
        guard health.state == .healthy else {
            throw SupervisorError(.agent, "the agent of pool VM '\(name)' is \(health.summary)")
        }
        try await manager.suspend(name: name)
        logger.info("pool vm parked", metadata: ["vm.name": "\(name)", "pool.image": "\(image)"])
    }

    /// Deletes every pool VM and sets the pool's size to 0, so the daemon does not refill it; waits for a fill
    /// that is making a VM to end first.
    /// - Parameter progress: Receives a line per step.
    /// - Returns: The VMs deleted.
    public func drain(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws(SupervisorError)
        -> [String]
    {
        var settings = try settings()
        settings.size = 0
        try store(settings)
        var lock = try StateLock(path: lockPath, wait: false)
        if lock == nil {
            progress("waiting for the pool VM being made to be ready")
            lock = try StateLock(path: lockPath, wait: true)
        }
        defer { lock?.release() }
        return try await removeUnusable(image: nil, progress: progress)
    }

    /// Deletes the pool VMs that cannot be handed out: those of another image than `image` (every one when
    /// `image` is `nil`) and those that are not parked, which only an interrupted fill leaves (the caller holds
    /// the lock, so no fill is running). A pool VM's directory that the inventory does not know is removed too,
    /// with its domain.
    @discardableResult
    func removeUnusable(image: String?, progress: @Sendable (String) -> Void) async throws(SupervisorError)
        -> [String]
    {
        var removed: [String] = []
        for record in try manager.inventory.poolVMs() {
            let parked = (try? await manager.isSuspended(name: record.name)) == true
            guard image == nil || record.poolImage != image || !parked else { continue }
            let why = image == nil ? "draining" : parked ? "made from an outdated image" : "not parked"
            progress("removing \(record.name): \(why)")
            try await manager.delete(name: record.name)
            removed.append(record.name)
        }
        let known = Set(try manager.inventory.poolVMs().map(\.domain))
        for domain in try await manager.domainNames()
        where domain.hasPrefix(VMRecord.poolPrefix) && !known.contains(domain)
            && FileManager.default.fileExists(atPath: manager.layout.vmDirectory(domain))
        {
            progress("removing \(domain): not in the inventory")
            _ = try? await manager.libvirt("remove stray pool domain '\(domain)'") { connection in
                let stray = try connection.lookupDomain(name: domain)
                if try stray.isActive() { try stray.destroy() }
                try stray.undefineRemovingMetadata()
            }
            try? FileManager.default.removeItem(atPath: manager.layout.vmDirectory(domain))
            removed.append(domain)
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: manager.layout.vmsDirectory) {
            for entry in entries where entry.hasPrefix(VMRecord.poolPrefix) && !known.contains(entry) {
                try? FileManager.default.removeItem(atPath: manager.layout.vmDirectory(entry))
            }
        }
        return removed
    }
}

/// Keeps the warm pool at its stored size in the background (`somnus daemon`): every interval, when fewer VMs
/// of the current base image are parked than ``PoolSettings/size``, it makes the missing ones, unless a fill or
/// a drain already runs.
public struct PoolKeeper: Service {
    let pool: WarmPool
    let agentBinary: String
    let interval: Duration

    /// A keeper.
    /// - Parameters:
    ///   - pool: The pool.
    ///   - agentBinary: The agent deployed into new pool VMs.
    ///   - interval: Time between two looks at the pool.
    public init(pool: WarmPool, agentBinary: String, interval: Duration = .seconds(30)) {
        self.pool = pool
        self.agentBinary = agentBinary
        self.interval = interval
    }

    /// Fills the pool once when it lacks VMs.
    /// - Returns: The VMs made.
    @discardableResult
    public func refill() async throws(SupervisorError) -> [String] {
        guard try pool.settings().size > 0 else { return [] }
        guard let image = pool.builtImage() else { return [] }
        let made = try await pool.fill(image: image, agentBinary: agentBinary, wait: false) { line in
            pool.logger.info("pool fill", metadata: ["step": "\(line)"])
        }
        return made
    }

    /// Refills at start and then every interval until graceful shutdown.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // A shutdown cancels a fill midway; the VM it was making is removed by the next fill or drain.
                _ = try await cancelWhenGracefulShutdown { try await refill() }
            } catch {
                pool.logger.error("pool refill failed", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
