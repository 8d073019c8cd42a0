import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How QEMU runs guest code: hardware virtualization or software emulation.
public enum Accelerator: String, Codable, Sendable, CaseIterable {
    /// Hardware virtualization through `/dev/kvm` (libvirt domain type `kvm`).
    case kvm
    /// QEMU's software emulation (libvirt domain type `qemu`); slower, but boots anywhere.
    case tcg

    /// The libvirt domain type for this accelerator.
    public var domainType: String {
        switch self {
        case .kvm: "kvm"
        case .tcg: "qemu"
        }
    }

    /// Arguments added to the guest kernel's command line under this accelerator.
    ///
    /// Under TCG the kernel's speculative-execution mitigations are off: page-table isolation alone makes every
    /// system call flush QEMU's software TLB, and a boot took 53.6 s with them against 37.3 s without. They only
    /// keep the guest's users from its kernel, and the tenant already has root in its VM; what keeps VMs apart
    /// is the host (one QEMU process per VM). Under KVM the guest keeps its defaults.
    public var kernelArguments: [String] {
        switch self {
        case .kvm: []
        case .tcg: ["mitigations=off"]
        }
    }

    /// What the host offers, and why.
    public struct Probe: Sendable, Equatable {
        /// The accelerator to use.
        public var accelerator: Accelerator
        /// Why it was chosen; printed as a warning when it is TCG.
        public var reason: String
    }

    /// Picks KVM when `/dev/kvm` opens read-write and the CPU advertises `vmx` or `svm`; TCG otherwise.
    ///
    /// A `/dev/kvm` without those flags is nested virtualization under which stock guest kernels hang, so it
    /// is not used.
    /// - Parameters:
    ///   - cpuinfoPath: The file listing CPU flags.
    ///   - kvmPath: The KVM device.
    public static func probe(cpuinfoPath: String = "/proc/cpuinfo", kvmPath: String = "/dev/kvm") -> Probe {
        let fd = open(kvmPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            return Probe(accelerator: .tcg, reason: "\(kvmPath) cannot be opened; using TCG (software emulation)")
        }
        close(fd)
        let flags = (try? String(contentsOfFile: cpuinfoPath, encoding: .utf8)) ?? ""
        let words = flags.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard words.contains("vmx") || words.contains("svm") else {
            return Probe(
                accelerator: .tcg,
                reason: "\(kvmPath) exists but the CPU advertises neither vmx nor svm (nested virtualization); "
                    + "using TCG (software emulation)")
        }
        return Probe(accelerator: .kvm, reason: "KVM available")
    }
}
