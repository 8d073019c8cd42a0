/// The coarse class of a log line (see the category policy in the README).
public enum LogCategory: String, Codable, Sendable, CaseIterable, Hashable {
    /// GPU, driver or CUDA runtime state: GPU OOM, Xid/NVRM, NCCL, cuDNN/cuBLAS status, driver mismatch.
    case cudaError = "CUDA_ERROR"
    /// Timeouts, DNS, refused/reset connections, TLS, proxies, registry fetch failures.
    case networkFailure = "NETWORK_FAILURE"
    /// Missing modules, packages, shared libraries, commands or headers; version conflicts.
    case dependencyMissing = "DEPENDENCY_MISSING"
    /// Other program faults: exceptions, segfaults, signals, host OOM, missing files, failed services.
    case runtimeError = "RUNTIME_ERROR"
    /// Informational lines, successes, harmless warnings and anything else.
    case other = "OTHER"
}

/// The finer label of a log line, such as `gpu_oom` or `missing_module`.
///
/// A struct with static members rather than an enum so the taxonomy can grow without breaking callers.
public struct LogKind: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    /// The snake_case label.
    public var rawValue: String

    /// Creates a kind from its label.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Decodes the label from a single JSON string.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the label as a single JSON string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The label.
    public var description: String { rawValue }

    // CUDA_ERROR
    /// GPU memory exhausted.
    public static let gpuOOM = LogKind(rawValue: "gpu_oom")
    /// Driver, kernel module, runtime or compute capability versions disagree.
    public static let driverMismatch = LogKind(rawValue: "driver_mismatch")
    /// No usable GPU or driver.
    public static let noDevice = LogKind(rawValue: "no_device")
    /// An NVIDIA Xid / NVRM driver event (hardware or driver fault).
    public static let xid = LogKind(rawValue: "xid")
    /// An NCCL collective or transport failure.
    public static let nccl = LogKind(rawValue: "nccl")
    /// A cuDNN, cuBLAS, cuFFT or cuSOLVER status error.
    public static let cudnn = LogKind(rawValue: "cudnn")
    /// A device-side assert or illegal memory access in a kernel.
    public static let deviceAssert = LogKind(rawValue: "device_assert")
    /// A GPU driver library (`libcuda.so`, `libnvidia-ml.so`) missing, usually in a container.
    public static let gpuDriverLibraryMissing = LogKind(rawValue: "gpu_driver_library_missing")
    /// Any other CUDA runtime error.
    public static let cudaRuntime = LogKind(rawValue: "cuda_runtime")

    // NETWORK_FAILURE
    /// Name resolution failed.
    public static let dns = LogKind(rawValue: "dns")
    /// A connection or read timed out.
    public static let timeout = LogKind(rawValue: "timeout")
    /// TLS handshake or certificate verification failed.
    public static let tls = LogKind(rawValue: "tls")
    /// Nothing listens at the address.
    public static let connectionRefused = LogKind(rawValue: "connection_refused")
    /// The peer reset or closed the connection.
    public static let connectionReset = LogKind(rawValue: "connection_reset")
    /// No route to the host or network.
    public static let networkUnreachable = LogKind(rawValue: "network_unreachable")
    /// An HTTP(S) proxy failed or refused.
    public static let proxy = LogKind(rawValue: "proxy")
    /// A package or image registry, mirror or index could not be fetched.
    public static let registry = LogKind(rawValue: "registry")
    /// An upstream answered with a gateway or server error.
    public static let httpError = LogKind(rawValue: "http_error")

    // DEPENDENCY_MISSING
    /// A language module or import is missing (Python, Node, Rust, Go, Java, Ruby, Perl).
    public static let missingModule = LogKind(rawValue: "missing_module")
    /// A system or language package is not available in the configured sources.
    public static let missingPackage = LogKind(rawValue: "missing_package")
    /// A shared library or symbol cannot be loaded or linked.
    public static let missingSharedLibrary = LogKind(rawValue: "missing_shared_library")
    /// An executable is not installed or not on `PATH`.
    public static let missingCommand = LogKind(rawValue: "missing_command")
    /// A C/C++/CUDA header is missing.
    public static let missingHeader = LogKind(rawValue: "missing_header")
    /// Installed versions conflict or are incompatible.
    public static let versionConflict = LogKind(rawValue: "version_conflict")

    // RUNTIME_ERROR
    /// A type error (wrong operand or argument type, cast failure).
    public static let typeError = LogKind(rawValue: "type_error")
    /// A bad value, shape, parse or arithmetic error.
    public static let valueError = LogKind(rawValue: "value_error")
    /// An index or key lookup failed.
    public static let indexError = LogKind(rawValue: "index_error")
    /// A missing attribute or name.
    public static let attributeError = LogKind(rawValue: "attribute_error")
    /// An assertion failed.
    public static let assertion = LogKind(rawValue: "assertion")
    /// A null or nil dereference, or unwrapping an empty value.
    public static let nullDereference = LogKind(rawValue: "null_dereference")
    /// A segmentation fault or other memory-corruption crash.
    public static let segfault = LogKind(rawValue: "segfault")
    /// A process died from a signal, abort or panic.
    public static let signal = LogKind(rawValue: "signal")
    /// Host (not GPU) memory was exhausted or the OOM killer ran.
    public static let hostOOM = LogKind(rawValue: "host_oom")
    /// A file or directory does not exist.
    public static let fileNotFound = LogKind(rawValue: "file_not_found")
    /// The disk is full.
    public static let diskFull = LogKind(rawValue: "disk_full")
    /// Access was denied.
    public static let permissionDenied = LogKind(rawValue: "permission_denied")
    /// A service, build step or command exited with failure.
    public static let serviceFailed = LogKind(rawValue: "service_failed")
    /// Any other exception or error.
    public static let exception = LogKind(rawValue: "exception")

    // Learned-model fallbacks (no rule matched).
    /// A CUDA error recognized only by the learned model.
    public static let cudaOther = LogKind(rawValue: "cuda_other")
    /// A network failure recognized only by the learned model.
    public static let networkOther = LogKind(rawValue: "network_other")
    /// A dependency problem recognized only by the learned model.
    public static let dependencyOther = LogKind(rawValue: "dependency_other")
    /// A runtime error recognized only by the learned model.
    public static let runtimeOther = LogKind(rawValue: "runtime_other")
    /// Not a failure.
    public static let none = LogKind(rawValue: "none")
}
