/// An error reported by libvirt, captured in the same synchronous call that failed.
///
/// `code` and `domain` mirror libvirt's `virErrorNumber` and `virErrorDomain`; both are open structs so codes
/// this wrapper does not name still round-trip. `message` is libvirt's own human-readable message and `function`
/// names the libvirt C function the wrapper called.
public struct VirError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A libvirt error number (`virErrorNumber`).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The numeric value of the C enumerator.
        public let rawValue: Int

        /// Wraps a raw libvirt error number.
        /// - Parameter rawValue: The value of a `VIR_ERR_*` enumerator.
        public init(rawValue: Int) {
            self.rawValue = rawValue
        }

        /// Internal error inside libvirt (`VIR_ERR_INTERNAL_ERROR`).
        public static let internalError = Code(rawValue: 1)
        /// Memory allocation failure (`VIR_ERR_NO_MEMORY`).
        public static let noMemory = Code(rawValue: 2)
        /// The driver does not support this function (`VIR_ERR_NO_SUPPORT`).
        public static let noSupport = Code(rawValue: 3)
        /// Cannot connect to the hypervisor, or no driver handles the URI (`VIR_ERR_NO_CONNECT`).
        public static let noConnect = Code(rawValue: 5)
        /// Invalid domain object (`VIR_ERR_INVALID_DOMAIN`).
        public static let invalidDomain = Code(rawValue: 7)
        /// Invalid function argument, including unsupported flags (`VIR_ERR_INVALID_ARG`).
        public static let invalidArgument = Code(rawValue: 8)
        /// A command to the hypervisor failed (`VIR_ERR_OPERATION_FAILED`).
        public static let operationFailed = Code(rawValue: 9)
        /// An XML description is not well formed or broken (`VIR_ERR_XML_ERROR`).
        public static let xmlError = Code(rawValue: 27)
        /// The domain already exists (`VIR_ERR_DOM_EXIST`).
        public static let domainExists = Code(rawValue: 28)
        /// Detail of an XML error (`VIR_ERR_XML_DETAIL`).
        public static let xmlDetail = Code(rawValue: 35)
        /// The network already exists (`VIR_ERR_NETWORK_EXIST`).
        public static let networkExists = Code(rawValue: 37)
        /// A system call failed, e.g. connection refused (`VIR_ERR_SYSTEM_ERROR`).
        public static let systemError = Code(rawValue: 38)
        /// Domain not found (`VIR_ERR_NO_DOMAIN`).
        public static let noDomain = Code(rawValue: 42)
        /// Network not found (`VIR_ERR_NO_NETWORK`).
        public static let noNetwork = Code(rawValue: 43)
        /// Authentication failed (`VIR_ERR_AUTH_FAILED`).
        public static let authFailed = Code(rawValue: 45)
        /// The operation is not valid in the object's current state (`VIR_ERR_OPERATION_INVALID`).
        public static let operationInvalid = Code(rawValue: 55)
        /// The configuration is not supported (`VIR_ERR_CONFIG_UNSUPPORTED`).
        public static let configUnsupported = Code(rawValue: 67)
        /// The operation timed out (`VIR_ERR_OPERATION_TIMEOUT`).
        public static let operationTimeout = Code(rawValue: 68)
        /// Domain snapshot not found (`VIR_ERR_NO_DOMAIN_SNAPSHOT`).
        public static let noDomainSnapshot = Code(rawValue: 72)
        /// The operation is not supported (`VIR_ERR_OPERATION_UNSUPPORTED`).
        public static let operationUnsupported = Code(rawValue: 84)
        /// The guest agent is not responding (`VIR_ERR_AGENT_UNRESPONSIVE`).
        public static let agentUnresponsive = Code(rawValue: 86)
        /// libvirt reported a failure but recorded no error; the wrapper's own code.
        public static let unknown = Code(rawValue: -1)

        private static let names: [Int: String] = [
            1: "internalError", 2: "noMemory", 3: "noSupport", 5: "noConnect", 7: "invalidDomain",
            8: "invalidArgument", 9: "operationFailed", 27: "xmlError", 28: "domainExists", 35: "xmlDetail",
            37: "networkExists", 38: "systemError", 42: "noDomain", 43: "noNetwork", 45: "authFailed",
            55: "operationInvalid", 67: "configUnsupported", 68: "operationTimeout", 72: "noDomainSnapshot",
            84: "operationUnsupported", 86: "agentUnresponsive", -1: "unknown",
        ]

        /// The Swift name of the code when known, otherwise `code <number>`.
        public var description: String {
            Self.names[rawValue] ?? "code \(rawValue)"
        }
    }

    /// The part of libvirt that raised an error (`virErrorDomain`).
    public struct Domain: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The numeric value of the C enumerator.
        public let rawValue: Int

        /// Wraps a raw libvirt error domain.
        /// - Parameter rawValue: The value of a `VIR_FROM_*` enumerator.
        public init(rawValue: Int) {
            self.rawValue = rawValue
        }

        /// No particular part (`VIR_FROM_NONE`).
        public static let none = Domain(rawValue: 0)
        /// The XML parser (`VIR_FROM_XML`).
        public static let xml = Domain(rawValue: 5)
        /// Domain operations (`VIR_FROM_DOM`).
        public static let domain = Domain(rawValue: 6)
        /// The RPC layer (`VIR_FROM_RPC`).
        public static let rpc = Domain(rawValue: 7)
        /// Configuration handling (`VIR_FROM_CONF`).
        public static let configuration = Domain(rawValue: 9)
        /// The QEMU driver (`VIR_FROM_QEMU`).
        public static let qemu = Domain(rawValue: 10)
        /// The test driver (`VIR_FROM_TEST`).
        public static let test = Domain(rawValue: 12)
        /// The remote driver (`VIR_FROM_REMOTE`).
        public static let remote = Domain(rawValue: 13)
        /// Domain configuration parsing (`VIR_FROM_DOMAIN`).
        public static let domainConfig = Domain(rawValue: 20)
        /// Network configuration (`VIR_FROM_NETWORK`).
        public static let network = Domain(rawValue: 19)
        /// The security framework (`VIR_FROM_SECURITY`).
        public static let security = Domain(rawValue: 24)
        /// Domain snapshots (`VIR_FROM_DOMAIN_SNAPSHOT`).
        public static let domainSnapshot = Domain(rawValue: 35)
        /// Authentication (`VIR_FROM_AUTH`).
        public static let auth = Domain(rawValue: 46)

        private static let names: [Int: String] = [
            0: "none", 5: "xml", 6: "domain", 7: "rpc", 9: "configuration", 10: "qemu", 12: "test", 13: "remote",
            19: "network", 20: "domainConfig", 24: "security", 35: "domainSnapshot", 46: "auth",
        ]

        /// The Swift name of the domain when known, otherwise `domain <number>`.
        public var description: String {
            Self.names[rawValue] ?? "domain \(rawValue)"
        }
    }

    /// libvirt's error number.
    public let code: Code
    /// The part of libvirt that raised the error.
    public let domain: Domain
    /// libvirt's human-readable message.
    public let message: String
    /// The libvirt C function that failed, e.g. `virDomainLookupByName`.
    public let function: String

    /// Creates an error value.
    /// - Parameters:
    ///   - code: libvirt's error number.
    ///   - domain: The part of libvirt that raised the error.
    ///   - message: The human-readable message.
    ///   - function: The libvirt C function that failed.
    public init(code: Code, domain: Domain, message: String, function: String) {
        self.code = code
        self.domain = domain
        self.message = message
        self.function = function
    }

    /// `function: message (code, domain)`.
    public var description: String {
        "\(function): \(message) (\(code), \(domain))"
    }
}
