/// A named amount of vCPUs and memory a VM can be switched to while it runs.
///
/// The four built-in profiles come from the original design; custom ones can be added in configuration.
/// Every domain is defined with enough headroom (``maximumVCPUs``, ``maximumMemoryMiB``) that each profile a VM
/// can take applies live.
public struct ResourceProfile: Codable, Sendable, Equatable, Hashable {
    /// The profile's name, such as `coding`.
    public var name: String
    /// Online vCPUs.
    public var vcpus: Int
    /// Memory in MiB.
    public var memoryMiB: Int
    /// Whether the profile asks for a GPU. No GPU is attached yet; a GPU profile is refused until one is.
    public var gpu: Bool
    /// A sentence for people.
    public var summary: String

    /// Creates a profile.
    public init(name: String, vcpus: Int, memoryMiB: Int, gpu: Bool = false, summary: String) {
        self.name = name
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.gpu = gpu
        self.summary = summary
    }

    /// Low power state, used at creation.
    public static let idle = ResourceProfile(name: "idle", vcpus: 1, memoryMiB: 4096, summary: "Low power state.")
    /// Sized for compilation.
    public static let coding = ResourceProfile(
        name: "coding", vcpus: 4, memoryMiB: 8192, summary: "Optimized for compilation.")
    /// Balanced for browsing and reading.
    public static let research = ResourceProfile(
        name: "research", vcpus: 2, memoryMiB: 6144, summary: "Balanced for browsing.")
    /// High power for generation; asks for a GPU.
    public static let mediaCreation = ResourceProfile(
        name: "media_creation", vcpus: 6, memoryMiB: 16384, gpu: true, summary: "High-power for generation.")

    /// The built-in profiles, in the order they are listed.
    public static let builtIn: [ResourceProfile] = [.idle, .coding, .research, .mediaCreation]
}

/// The set of profiles a supervisor knows: the built-in ones plus custom ones from configuration.
public struct ProfileCatalog: Sendable {
    /// Every known profile, built-in first.
    public let profiles: [ResourceProfile]

    /// Creates a catalog from the built-in profiles and custom ones.
    /// - Parameter custom: Extra profiles; a custom profile may not reuse a built-in name.
    /// - Throws: ``SupervisorError`` with ``SupervisorError/Code/invalidArgument`` for a duplicate name or a
    ///   non-positive size.
    public init(custom: [ResourceProfile] = []) throws(SupervisorError) {
        var seen = Set(ResourceProfile.builtIn.map(\.name))
        for profile in custom {
            guard profile.vcpus > 0, profile.memoryMiB >= 256 else {
                throw SupervisorError(
                    .invalidArgument,
                    "profile '\(profile.name)' needs at least 1 vCPU and 256 MiB (has \(profile.vcpus) and "
                        + "\(profile.memoryMiB) MiB)")
            }
            guard seen.insert(profile.name).inserted else {
                throw SupervisorError(.invalidArgument, "profile '\(profile.name)' is defined twice")
            }
        }
        profiles = ResourceProfile.builtIn + custom
    }

    /// The profile with this name.
    /// - Throws: ``SupervisorError/Code/notFound`` listing the known profiles.
    public func profile(named name: String) throws(SupervisorError) -> ResourceProfile {
        guard let found = profiles.first(where: { $0.name == name }) else {
            let names = profiles.map(\.name).joined(separator: ", ")
            throw SupervisorError(.notFound, "unknown profile '\(name)'; known profiles: \(names)")
        }
        return found
    }

    /// The most vCPUs a profile a VM can take asks for: the domain's vCPU maximum.
    public var maximumVCPUs: Int { applicable.map(\.vcpus).max() ?? 1 }
    /// The most memory a profile a VM can take asks for: the domain's memory maximum.
    ///
    /// A guest boots with this much memory and its balloon then gives back all above its profile: under TCG the
    /// balloon gave back 12 GiB (a 16 GiB maximum, a 4 GiB profile) in about 30 s of the guest's vCPU after each
    /// boot, so GPU profiles, which no VM can take, do not count.
    public var maximumMemoryMiB: Int { applicable.map(\.memoryMiB).max() ?? 1024 }

    /// The profiles a VM can take: no GPU is attached to VMs, so not those that need one.
    private var applicable: [ResourceProfile] { profiles.filter { !$0.gpu } }
}
