/// Everything needed to write one VM's libvirt domain XML.
///
/// The domain is defined with headroom: ``maximumVCPUs`` and ``maximumMemoryMiB`` cover every profile, so
/// switching profiles never needs a redefinition (the original set maximum = current and could not scale up).
public struct DomainSpec: Sendable, Equatable {
    /// The domain name; also the VM's name.
    public var name: String
    /// The domain UUID, lowercase with dashes.
    public var uuid: String
    /// KVM or TCG.
    public var accelerator: Accelerator
    /// A named CPU model that works on this host (`host-passthrough` aborts QEMU under nested virtualization).
    public var cpuModel: String
    /// vCPUs online at start.
    public var vcpus: Int
    /// The vCPU ceiling for live scaling.
    public var maximumVCPUs: Int
    /// Memory at start, in MiB.
    public var memoryMiB: Int
    /// The memory ceiling for live scaling, in MiB.
    public var maximumMemoryMiB: Int
    /// The guest kernel for direct kernel boot.
    public var kernelPath: String
    /// The guest initrd.
    public var initrdPath: String
    /// The kernel command line.
    public var kernelCommandLine: String
    /// The VM's qcow2 overlay disk.
    public var diskPath: String
    /// The libvirt network the NIC attaches to.
    public var network: String
    /// The NIC's MAC address.
    public var macAddress: String
    /// The libvirt nwfilter the NIC carries (`clean-traffic`), or `nil` for none.
    public var networkFilter: String?
    /// The IPv4 address the filter allows the guest to use (its `IP` parameter), or `nil` to let libvirt learn it.
    public var filterIPAddress: String?
    /// The file the serial console is logged to.
    public var consoleLogPath: String

    /// Creates a specification.
    public init(
        name: String, uuid: String, accelerator: Accelerator, cpuModel: String, vcpus: Int, maximumVCPUs: Int,
        memoryMiB: Int, maximumMemoryMiB: Int, kernelPath: String, initrdPath: String, kernelCommandLine: String,
        diskPath: String, network: String, macAddress: String, networkFilter: String? = nil,
        filterIPAddress: String? = nil, consoleLogPath: String
    ) {
        self.name = name
        self.uuid = uuid
        self.accelerator = accelerator
        self.cpuModel = cpuModel
        self.vcpus = vcpus
        self.maximumVCPUs = maximumVCPUs
        self.memoryMiB = memoryMiB
        self.maximumMemoryMiB = maximumMemoryMiB
        self.kernelPath = kernelPath
        self.initrdPath = initrdPath
        self.kernelCommandLine = kernelCommandLine
        self.diskPath = diskPath
        self.network = network
        self.macAddress = macAddress
        self.networkFilter = networkFilter
        self.filterIPAddress = filterIPAddress
        self.consoleLogPath = consoleLogPath
    }

    /// The domain XML, every value escaped.
    public func xml() -> String {
        let mib = [("unit", "MiB")]
        return XMLElement(
            "domain", [("type", accelerator.domainType)],
            [
                XMLElement("name", text: name),
                XMLElement("uuid", text: uuid),
                // A new VM generation ID on every restore from saved memory; the guest's kernel reseeds its
                // random number generator when it changes.
                XMLElement("genid"),
                XMLElement("memory", mib, text: String(maximumMemoryMiB)),
                XMLElement("currentMemory", mib, text: String(memoryMiB)),
                XMLElement(
                    "vcpu", [("placement", "static"), ("current", String(vcpus))], text: String(maximumVCPUs)),
                XMLElement(
                    "os", [],
                    [
                        XMLElement("type", [("arch", "x86_64"), ("machine", "q35")], text: "hvm"),
                        XMLElement("kernel", text: kernelPath),
                        XMLElement("initrd", text: initrdPath),
                        XMLElement("cmdline", text: kernelCommandLine),
                    ]),
                XMLElement("features", [], [XMLElement("acpi"), XMLElement("apic")]),
                XMLElement(
                    "cpu", [("mode", "custom"), ("match", "exact"), ("check", "none")],
                    [XMLElement("model", [("fallback", "allow")], text: cpuModel)]),
                XMLElement("clock", [("offset", "utc")]),
                XMLElement("on_poweroff", text: "destroy"),
                XMLElement("on_reboot", text: "restart"),
                XMLElement("on_crash", text: "destroy"),
                XMLElement("devices", [], devices()),
            ]
        ).render()
    }

    private func filterElements() -> [XMLElement] {
        guard let networkFilter else { return [] }
        let parameters = filterIPAddress.map { [XMLElement("parameter", [("name", "IP"), ("value", $0)])] } ?? []
        return [XMLElement("filterref", [("filter", networkFilter)], parameters)]
    }

    private func devices() -> [XMLElement] {
        [
            XMLElement(
                "disk", [("type", "file"), ("device", "disk")],
                [
                    XMLElement("driver", [("name", "qemu"), ("type", "qcow2"), ("discard", "unmap")]),
                    XMLElement("source", [("file", diskPath)]),
                    XMLElement("target", [("dev", "vda"), ("bus", "virtio")]),
                ]),
            XMLElement(
                "interface", [("type", "network")],
                [
                    XMLElement("source", [("network", network)]),
                    XMLElement("mac", [("address", macAddress)]),
                    XMLElement("model", [("type", "virtio")]),
                ] + filterElements()),
            XMLElement(
                "serial", [("type", "file")],
                [
                    XMLElement("source", [("path", consoleLogPath), ("append", "on")]),
                    XMLElement("target", [("port", "0")]),
                ]),
            XMLElement(
                "console", [("type", "file")],
                [
                    XMLElement("source", [("path", consoleLogPath), ("append", "on")]),
                    XMLElement("target", [("type", "serial"), ("port", "0")]),
                ]),
            XMLElement(
                "rng", [("model", "virtio")], [XMLElement("backend", [("model", "random")], text: "/dev/urandom")]),
            XMLElement("memballoon", [("model", "virtio")]),
        ]
    }
}
