import AgentAPI
public import Logging
import SSH

/// `somnus up`: from nothing to a VM with a healthy agent — build the image if its recipe changed, take a parked VM
/// from the warm pool or create the VM if it does not exist, restore or boot it, wait for its DHCP lease, deploy
/// the agent when it differs, and probe its health.
public struct UpWorkflow: Sendable {
    /// What to bring up.
    public struct Request: Sendable {
        /// The VM's name.
        public var name: String
        /// The resource profile of a new VM.
        public var profile: String
        /// The accelerator of a new VM; `nil` probes the host.
        public var accelerator: Accelerator?
        /// The `Images` recipe directory; `nil` finds it beside the executable (``ImageBuilder/locateRecipe(_:)``).
        public var recipe: String?
        /// The `somnus-agent` binary to deploy.
        public var agentBinary: String
        /// How long the guest may take to get an address, and then to answer SSH.
        public var bootTimeout: Duration
        /// Whether a new VM may come from the warm pool; `false` always boots one.
        public var usePool: Bool

        /// A request with the defaults of `somnus up`.
        /// - Parameters:
        ///   - name: The VM's name.
        ///   - profile: The resource profile of a new VM.
        ///   - accelerator: The accelerator of a new VM; `nil` probes the host.
        ///   - recipe: The `Images` recipe directory; `nil` finds it beside the executable.
        ///   - agentBinary: The `somnus-agent` binary to deploy.
        ///   - bootTimeout: How long the guest may take to get an address, and then to answer SSH.
        ///   - usePool: Whether a new VM may come from the warm pool.
        public init(
            name: String, profile: String = "idle", accelerator: Accelerator? = nil, recipe: String? = nil,
            agentBinary: String, bootTimeout: Duration = .seconds(600), usePool: Bool = true
        ) {
            self.usePool = usePool
            self.name = name
            self.profile = profile
            self.accelerator = accelerator
            self.recipe = recipe
            self.agentBinary = agentBinary
            self.bootTimeout = bootTimeout
        }
    }

    /// What the workflow reports while it runs.
    public enum Progress: Sendable, Equatable {
        /// A line of the image build's output.
        case imageLine(String)
        /// The image is ready; its disk's size on the host, when known.
        case imageReady(bytes: Int?)
        /// The VM did not exist and was created.
        case created(String)
        /// The VM did not exist and a parked VM of the warm pool became it.
        case takenFromPool(vm: String, poolVM: String)
        /// The VM is about to be started; the boot-to-ready time counts from here.
        case starting(String)
        /// The VM was started and its DHCP lease is awaited.
        case booting(String)
        /// The VM got its address; SSH and the agent are checked next.
        case addressed(vm: String, address: String)
        /// The agent was uploaded (or found up to date), with the reason.
        case deployed(uploaded: Bool, reason: String)
    }

    /// The VMs and the inventory.
    public let manager: VMManager
    private let logger: Logger

    /// A workflow on `manager`.
    /// - Parameters:
    ///   - manager: The VMs and the inventory.
    ///   - logger: Receives the deployer's and health prober's logs.
    public init(manager: VMManager, logger: Logger) {
        self.manager = manager
        self.logger = logger
    }

    /// Brings the VM up and probes its agent once.
    ///
    /// An agent that answers but is not healthy does not throw: the summary says so (``UpSummary/isHealthy``) and
    /// the caller decides.
    /// - Parameters:
    ///   - request: What to bring up.
    ///   - onProgress: Receives each step as it happens.
    /// - Returns: The VM's state, address, agent version, health and boot-to-ready time.
    /// - Throws: ``SupervisorError`` from the image build, the VM's creation or start, the lease wait
    ///   (``SupervisorError/Code/timeout``, ``SupervisorError/Code/invalidState``) or the agent's deployment.
    public func run(
        _ request: Request, onProgress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws(SupervisorError) -> UpSummary {
        let name = request.name
        let connector = try AgentConnector(manager: manager)
        let deployer = AgentDeployer(manager: manager, connector: connector, logger: logger)
        let keyPair = try deployer.ensureKeyPair()

        let recipeDirectory = try ImageBuilder.locateRecipe(request.recipe)
        let image = try await ImageBuilder.build(
            recipeDirectory: recipeDirectory, outputDirectory: manager.layout.baseImageDirectory,
            publicKeyPath: keyPair.publicKeyPath
        ) { line in onProgress(.imageLine(line)) }
        onProgress(.imageReady(bytes: image.imageBytes))

        var pooled: VMRecord?
        if try manager.inventory.vm(named: name) == nil {
            let pool = WarmPool(manager: manager, connector: connector, logger: logger)
            // A pool VM is only taken with the accelerator it was made with (the host's default).
            if request.usePool, request.accelerator == nil,
                let record = try await pool.take(as: name, image: image.inputHash)
            {
                pooled = record
                onProgress(.takenFromPool(vm: name, poolVM: record.domain))
            } else {
                _ = try await manager.create(
                    name: name, profileName: request.profile, accelerator: request.accelerator)
                onProgress(.created(name))
            }
        }
        let clock = ContinuousClock()
        let started = clock.now
        onProgress(.starting(name))
        if try await manager.isSuspended(name: name) {
            // Restored from its saved memory, with the host's time pushed and the agent healthy again.
            _ = try await SuspendCoordinator(manager: manager, connector: connector).resume(vm: name)
        } else {
            try await manager.start(name: name)
        }
        if let pooled, pooled.profile != request.profile {
            _ = try await manager.applyProfile(name: name, profileName: request.profile)
        }
        onProgress(.booting(name))
        // A restored pool VM keeps the address it was deployed at (its lease may have run out while parked).
        let address: String
        if let known = pooled?.address {
            address = known
        } else {
            address = try await Self.waitForLease(manager: manager, name: name, deadline: request.bootTimeout)
        }
        onProgress(.addressed(vm: name, address: address))
        let outcome = try await deployer.ensureDeployed(
            vm: name, address: address, agentBinary: request.agentBinary, sshDeadline: request.bootTimeout)
        onProgress(.deployed(uploaded: outcome.uploaded, reason: outcome.reason))
        let elapsed = clock.now - started
        let health = await HealthPoller(manager: manager, connector: connector, logger: logger).probe(
            try manager.record(name))
        try manager.inventory.record(health)
        let state = try await manager.status(name: name).state
        return UpSummary(
            name: name, state: state, address: address, agentVersion: outcome.status.agentVersion,
            health: health.summary, bootToReadySeconds: elapsed / .seconds(1), isHealthy: health.state == .healthy,
            fromPool: pooled != nil)
    }

    /// Waits until the running VM `name` holds a DHCP lease on the VM network.
    /// - Parameters:
    ///   - manager: The VMs.
    ///   - name: The VM's name.
    ///   - deadline: How long to wait.
    ///   - interval: Time between two looks at the leases.
    /// - Returns: The leased IPv4 address.
    /// - Throws: ``SupervisorError/Code/invalidState`` when the VM stops meanwhile,
    ///   ``SupervisorError/Code/timeout`` when no lease comes in time; both name `somnus vm console-log`.
    public static func waitForLease(
        manager: VMManager, name: String, deadline: Duration, interval: Duration = .milliseconds(250)
    ) async throws(SupervisorError) -> String {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while clock.now < end {
            guard !Task.isCancelled else {
                throw SupervisorError(.timeout, "the wait for the DHCP lease of '\(name)' was cancelled")
            }
            if let address = try await manager.leasedAddress(name: name) {
                return address
            }
            guard try await manager.isRunning(name: name) else {
                throw SupervisorError(
                    .invalidState, "'\(name)' stopped while booting; see `somnus vm console-log \(name)`")
            }
            try? await Task.sleep(for: interval)
        }
        throw SupervisorError(
            .timeout, "'\(name)' got no DHCP lease within \(deadline); see `somnus vm console-log \(name)`")
    }
}

/// What `somnus up` reports: the VM, its address and its agent's health.
public struct UpSummary: Encodable, Sendable, Equatable {
    /// The VM's name.
    public var name: String
    /// libvirt's state of the domain, such as `running`.
    public var state: String
    /// The guest's address.
    public var address: String
    /// The running agent's version.
    public var agentVersion: String
    /// The agent's health in a few words (``AgentHealth/summary``).
    public var health: String
    /// Seconds from the start of the domain to an agent that answers.
    public var bootToReadySeconds: Double
    /// Whether the agent is healthy (not encoded; `health` says it).
    public var isHealthy: Bool
    /// Whether the VM was a parked VM of the warm pool, restored rather than booted.
    public var fromPool: Bool

    enum CodingKeys: String, CodingKey {
        case name, state, address, health
        case fromPool = "from_pool"
        case agentVersion = "agent_version"
        case bootToReadySeconds = "boot_to_ready_seconds"
    }
}
