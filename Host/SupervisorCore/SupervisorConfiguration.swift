/// The supervisor's validated settings, folded from flags, a config file and the environment by the CLI.
public struct SupervisorConfiguration: Sendable {
    /// Directory holding the inventory, SSH keys, images and disks.
    public var stateDirectory: String
    /// libvirt connection URI.
    public var libvirtURI: String
    /// The accelerator to use; `nil` probes the host.
    public var accelerator: Accelerator?
    /// The libvirt network VMs attach to (isolated: no route off the host).
    public var network: String
    /// The libvirt nwfilter every VM interface carries, with the VM's pinned address as its `IP` parameter
    /// (`clean-traffic`: no frames with another MAC, no IP packets or ARP with another address); `nil` for none.
    public var networkFilter: String?
    /// A named CPU model QEMU accepts on this host.
    public var cpuModel: String
    /// Per-request deadline for agent calls.
    public var agentRequestTimeout: Duration
    /// Time between two poll sweeps.
    public var pollInterval: Duration
    /// Health samples kept per VM.
    public var healthHistoryLimit: Int
    /// Custom resource profiles beside the built-in ones.
    public var customProfiles: [ResourceProfile]

    /// Creates a configuration; every value has the documented default.
    public init(
        stateDirectory: String = "/var/lib/somnus",
        libvirtURI: String = "qemu:///system",
        accelerator: Accelerator? = nil,
        network: String = "somnus",
        networkFilter: String? = "clean-traffic",
        cpuModel: String = "Westmere",
        agentRequestTimeout: Duration = .seconds(2),
        pollInterval: Duration = .seconds(5),
        healthHistoryLimit: Int = 100,
        customProfiles: [ResourceProfile] = []
    ) {
        self.stateDirectory = stateDirectory
        self.libvirtURI = libvirtURI
        self.accelerator = accelerator
        self.network = network
        self.networkFilter = networkFilter
        self.cpuModel = cpuModel
        self.agentRequestTimeout = agentRequestTimeout
        self.pollInterval = pollInterval
        self.healthHistoryLimit = healthHistoryLimit
        self.customProfiles = customProfiles
    }
}

/// Where the supervisor keeps each kind of file under its state directory.
public struct StateLayout: Sendable {
    /// The state directory itself.
    public let root: String

    /// Creates a layout rooted at `root`.
    public init(root: String) {
        self.root = root
    }

    /// The custom profiles file read when no other is named.
    public var profilesPath: String { root + "/profiles.json" }
    /// The SQLite inventory.
    public var inventoryPath: String { root + "/inventory.sqlite" }
    /// The supervisor's SSH private key.
    public var sshKeyPath: String { root + "/ssh/id_supervisor" }
    /// The supervisor's SSH public key.
    public var sshPublicKeyPath: String { sshKeyPath + ".pub" }
    /// The directory of the base guest image.
    public var baseImageDirectory: String { root + "/images/base" }
    /// The directory holding every VM's directory.
    public var vmsDirectory: String { root + "/vms" }
    /// The directory holding one VM's disk, console log and token, named after its domain (``VMRecord/domain``;
    /// every path below takes that name too).
    public func vmDirectory(_ name: String) -> String { root + "/vms/" + name }
    /// The bearer token the supervisor shares with one VM's agent (mode 0600).
    public func agentTokenPath(_ name: String) -> String { vmDirectory(name) + "/agent.token" }
    /// The host key recorded for one VM at first contact; it goes away with the VM.
    public func knownHostsPath(_ name: String) -> String { vmDirectory(name) + "/known_hosts" }
    /// One VM's agent certificate, whose public key the supervisor pins.
    public func agentCertificatePath(_ name: String) -> String { vmDirectory(name) + "/agent.crt" }
    /// One VM's agent private key (mode 0600), uploaded to the guest at deploy time.
    public func agentKeyPath(_ name: String) -> String { vmDirectory(name) + "/agent.key" }
    /// The directory of the supervisor's own TLS client key pair (mode 0700).
    public var tlsDirectory: String { root + "/tls" }
    /// The supervisor's client certificate, the one client every agent accepts.
    public var hostCertificatePath: String { tlsDirectory + "/host.crt" }
    /// The supervisor's client private key (mode 0600); it never leaves the host.
    public var hostKeyPath: String { tlsDirectory + "/host.key" }
    /// The agent binary compressed for upload, one file per binary (named after its sha256).
    public func compressedAgentPath(sha256: String) -> String { root + "/cache/somnus-agent-" + sha256 + ".gz" }
}
