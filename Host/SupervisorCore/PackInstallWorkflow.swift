import Foundation
public import Logging
public import Packs

/// `somnus pack install`: fetch what the packs need into the host's cache, serve the cache on the VM network and
/// install the packs through the VM's agent, each behind a snapshot (``PackInstaller``).
public struct PackInstallWorkflow: Sendable {
    /// What to install where.
    public struct Request: Sendable {
        /// The VM's name.
        public var vm: String
        /// The packs in install order, requirements first (``PackCatalog/installOrder(_:)``).
        public var packs: [PackManifest]
        /// Whether to snapshot before each pack (and so be able to roll back).
        public var snapshot: Bool
        /// The port to serve the cache on; a free one is used when it is taken.
        public var cachePort: Int
        /// The address to serve the cache on; `nil` uses the host's address on the VM network
        /// (``VMManager/packCacheAddress()``).
        public var cacheHost: String?

        /// A request with the defaults of `somnus pack install`.
        /// - Parameters:
        ///   - vm: The VM's name.
        ///   - packs: The packs in install order, requirements first.
        ///   - snapshot: Whether to snapshot before each pack.
        ///   - cachePort: The port to serve the cache on.
        ///   - cacheHost: The address to serve the cache on; `nil` uses the host's address on the VM network.
        public init(
            vm: String, packs: [PackManifest], snapshot: Bool = true, cachePort: Int = PackCacheServer.defaultPort,
            cacheHost: String? = nil
        ) {
            self.vm = vm
            self.packs = packs
            self.snapshot = snapshot
            self.cachePort = cachePort
            self.cacheHost = cacheHost
        }
    }

    /// What the workflow reports while it runs.
    public enum Event: Sendable {
        /// The named packs' downloads start.
        case fetching([String])
        /// The base image saved no dpkg status, so every Debian dependency is fetched.
        case noDpkgStatus
        /// The downloads are done.
        case fetched(PackFetchReport)
        /// The cache's port was taken (with the reason); a free one is used.
        case portTaken(port: Int, reason: String)
        /// The cache is served at this URL.
        case serving(String)
        /// A line from the snapshot coordinator.
        case snapshot(String)
        /// A pack's progress.
        case pack(PackProgress)
    }

    /// The VMs and the inventory.
    public let manager: VMManager
    /// The host's pack cache.
    public let cache: PackCache
    private let logger: Logger

    /// A workflow on `manager` with `cache`.
    /// - Parameters:
    ///   - manager: The VMs and the inventory.
    ///   - cache: The host's pack cache.
    ///   - logger: Receives the installer's and the cache server's logs.
    public init(manager: VMManager, cache: PackCache, logger: Logger) {
        self.manager = manager
        self.cache = cache
        self.logger = logger
    }

    /// Fetches, serves and installs.
    ///
    /// A pack that fails does not throw: its result says so and ``PackInstallSummary/failure`` describes it.
    /// - Parameters:
    ///   - request: What to install where.
    ///   - onEvent: Receives each step as it happens.
    /// - Returns: The fetch's figures and one result per pack.
    /// - Throws: ``SupervisorError/Code/invalidState`` for a VM without an agent (before anything is fetched),
    ///   ``SupervisorError/Code/packFetch`` for a failed download, or the cache server's errors.
    public func run(
        _ request: Request, onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws(SupervisorError) -> PackInstallSummary {
        let vm = request.vm
        let record = try manager.record(vm)
        guard let address = record.address else {
            throw SupervisorError(.invalidState, "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
        }
        try await manager.refuseIfSuspended(vm, "installing packs")
        let connector = try AgentConnector(manager: manager)
        let client = try connector.client(for: record, address: address)

        // Fetch first: a download failure stops here, before any snapshot.
        onEvent(.fetching(request.packs.map(\.name)))
        let dpkgStatus = Self.baseImageDpkgStatus(layout: manager.layout)
        if dpkgStatus == nil { onEvent(.noDpkgStatus) }
        let fetch = try await cache.fetch(request.packs, dpkgStatus: dpkgStatus)
        onEvent(.fetched(fetch))

        let coordinator = SnapshotCoordinator(manager: manager, connector: connector) { line in onEvent(.snapshot(line))
        }
        let installer = PackInstaller(
            manager: manager, client: client,
            takeSnapshot: { vm, name, description throws(SupervisorError) in
                try await coordinator.takeSnapshot(vm: vm, name: name, description: description)
            },
            revertSnapshot: { vm, name throws(SupervisorError) in
                _ = try await coordinator.revertSnapshot(vm: vm, name: name)
            }, logger: logger)
        let host: String
        if let cacheHost = request.cacheHost {
            host = cacheHost
        } else {
            host = try await manager.packCacheAddress()
        }
        let results = try await PackCacheServer.serving(
            cache: cache, host: host, port: request.cachePort, logger: logger,
            onFallback: { port, why in onEvent(.portTaken(port: port, reason: why)) }
        ) { url throws(SupervisorError) in
            onEvent(.serving(url))
            return await installer.install(
                vm: vm, packs: request.packs,
                options: PackInstaller.Options(
                    snapshot: request.snapshot, cacheURL: url, pipRequirements: fetch.pipRequirements)
            ) { progress in onEvent(.pack(progress)) }
        }
        return PackInstallSummary(vm: vm, fetch: fetch, results: results)
    }

    /// The guest's `/var/lib/dpkg/status` saved beside the base image of `layout`, or `nil` when the image has
    /// none (then every Debian dependency is fetched).
    /// - Parameter layout: The state directory.
    /// - Returns: The file's path.
    public static func baseImageDpkgStatus(layout: StateLayout) -> String? {
        let directory = layout.baseImageDirectory
        guard let image = try? BaseImage.load(from: directory), let status = image.dpkgStatus else { return nil }
        let path = directory + "/" + status
        return FileManager.default.isReadableFile(atPath: path) ? path : nil
    }
}

/// What `somnus pack install` reports: the fetch's figures and one result per pack.
public struct PackInstallSummary: Encodable, Sendable, Equatable {
    /// The VM's name.
    public var vm: String
    /// How long the fetch took.
    public var fetchSeconds: Double
    /// Whether the fetch downloaded nothing.
    public var cacheWarm: Bool
    /// How many `.deb` files the fetch downloaded.
    public var aptDownloaded: Int
    /// How many wheels the fetch downloaded.
    public var wheelsDownloaded: Int
    /// One result per pack, in install order.
    public var results: [PackInstallResult]

    /// A summary of `fetch` and `results` for `vm`.
    /// - Parameters:
    ///   - vm: The VM's name.
    ///   - fetch: The fetch's report.
    ///   - results: One result per pack, in install order.
    public init(vm: String, fetch: PackFetchReport, results: [PackInstallResult]) {
        self.vm = vm
        self.fetchSeconds = fetch.seconds
        self.cacheWarm = fetch.wasWarm
        self.aptDownloaded = fetch.aptDownloaded.count
        self.wheelsDownloaded = fetch.wheelsDownloaded.count
        self.results = results
    }

    /// The first failed pack as a ``SupervisorError/Code/packInstall`` error naming the pack, the snapshot the VM
    /// was rolled back to (if it was) and the cause; `nil` when every pack installed.
    public var failure: SupervisorError? {
        guard let failed = results.first(where: { $0.outcome.isFailure }) else { return nil }
        return SupervisorError(
            .packInstall,
            "pack \(failed.pack) failed"
                + (failed.outcome == .rolledBack ? " and '\(vm)' was rolled back to \(failed.snapshot ?? "?")" : "")
                + ": \(failed.error ?? "unknown error")")
    }

    enum CodingKeys: String, CodingKey {
        case vm, results
        case fetchSeconds = "fetch_seconds"
        case cacheWarm = "cache_warm"
        case aptDownloaded = "apt_downloaded"
        case wheelsDownloaded = "wheels_downloaded"
    }
}
