/// One high-precision rule: fires when its patterns occur in the lower-cased template.
struct LogRule: Sendable {
    let category: LogCategory
    let kind: LogKind
    let confidence: Double
    /// At least one of these must occur.
    let any: [String]
    /// Each group needs at least one occurrence.
    let all: [[String]]
    /// None of these may occur.
    let none: [String]

    init(
        _ category: LogCategory, _ kind: LogKind, _ confidence: Double, _ any: [String], and all: [[String]] = [],
        not none: [String] = []
    ) {
        self.category = category
        self.kind = kind
        self.confidence = confidence
        self.any = any
        self.all = all
        self.none = none
    }

    /// Rules at or above this confidence ignore the benign-context markers.
    static let strongConfidence = 0.95
}

/// The compiled rule table. Order matters: the first rule that fires wins, so specific rules come first
/// (a missing header before anything mentioning CUDA, a GPU Xid before a network timeout, a missing Python
/// module before a generic `RuntimeError`).
///
/// Patterns are lower-case and match the masked template (`<n>`, `<path>`, `<url>`, `<ip>`, `<hex>` appear
/// literally). `^` and `$` in a pattern stand for the start and end of the line.
struct LogRuleSet: Sendable {
    struct Compiled: Sendable {
        let rule: LogRule
        let any: [Int]
        let all: [[Int]]
        let none: [Int]
    }

    let matcher: PatternMatcher
    let rules: [Compiled]
    let benign: [Int]
    let cues: [Int]

    static let shared = LogRuleSet(
        rules: LogRuleSet.table, benign: LogRuleSet.benignMarkers, cues: LogRuleSet.failureCues)

    init(rules: [LogRule], benign: [String], cues: [String]) {
        var ids: [String: Int] = [:]
        var patterns: [String] = []
        func id(_ pattern: String) -> Int {
            let encoded = String(
                decoding: pattern.utf8.map { $0 == UInt8(ascii: "^") ? 0x01 : $0 == UInt8(ascii: "$") ? 0x03 : $0 },
                as: UTF8.self
            )
            if let existing = ids[encoded] {
                return existing
            }
            patterns.append(encoded)
            ids[encoded] = patterns.count - 1
            return patterns.count - 1
        }
        self.rules = rules.map { rule in
            Compiled(
                rule: rule,
                any: rule.any.map(id),
                all: rule.all.map { $0.map(id) },
                none: rule.none.map(id)
            )
        }
        self.benign = benign.map(id)
        self.cues = cues.map(id)
        self.matcher = PatternMatcher(patterns: patterns)
    }

    /// The first rule that fires on the template, and whether the template has a failure cue and no benign
    /// marker (the learned model is only consulted then).
    func evaluate(_ template: UnsafeBufferPointer<UInt8>) -> (rule: LogRule?, hasFailureCue: Bool) {
        if Self.namesMissingCommand(template) {
            return (Self.quotedCommandRule, true)
        }
        var found = PatternSet(capacity: matcher.patternCount)
        matcher.scan(template, into: &found)
        let isBenign = benign.contains { found.contains($0) }
        // Benign context (commits, docs, successes) never reaches the learned model.
        let hasCue = !isBenign && cues.contains { found.contains($0) }
        return (firstMatch(found, isBenign: isBenign), hasCue)
    }

    private func firstMatch(_ found: PatternSet, isBenign: Bool) -> LogRule? {
        for compiled in rules {
            if isBenign, compiled.rule.confidence < LogRule.strongConfidence {
                continue
            }
            guard compiled.any.contains(where: { found.contains($0) }) else {
                continue
            }
            guard compiled.all.allSatisfy({ group in group.contains { found.contains($0) } }) else {
                continue
            }
            guard !compiled.none.contains(where: { found.contains($0) }) else {
                continue
            }
            return compiled.rule
        }
        return nil
    }

    static let quotedCommandRule = LogRule(.dependencyMissing, .missingCommand, 0.96, [])

    /// `No such file or directory: 'ffmpeg'` names a program (a bare word: no slash, no dot, so not a path or a
    /// file name): a missing command.
    static func namesMissingCommand(_ template: UnsafeBufferPointer<UInt8>) -> Bool {
        let marker = Array("no such file or directory: '".utf8)
        guard template.count > marker.count else {
            return false
        }
        var start = -1
        search: for index in 0...(template.count - marker.count) {
            for offset in marker.indices where LogFeatures.lower(template[index + offset]) != marker[offset] {
                continue search
            }
            start = index + marker.count
            break
        }
        guard start >= 0 else {
            return false
        }
        var index = start
        while index < template.count, template[index] != UInt8(ascii: "'") {
            let byte = template[index]
            guard
                LogMasker.isAlphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "+")
            else {
                return false
            }
            index += 1
        }
        return index > start && index < template.count && (index - start) <= 40
    }

    /// Markers of lines that talk about failures without reporting one (commits, docs, test names, successes).
    static let benignMarkers = [
        "succeeded", "recovered", "successfully", " passed", "merge pull request", "fix ", "fixed ", "fix:",
        "docs:", "todo", "tip:", "hint:", "echo ", "0 errors", "errors: 0", "error_count=0", "will be removed",
        "deprecated", "no errors", "--timeout", "configurable", "val_loss", "error=<n>", "loss=<n>",
        "ignoring invalid distribution", "error rate",
        "the fix", "is healthy", "commit ", " 0 failed", "0 failures",
    ]

    /// Words without which a line is never called a failure by the learned model.
    static let failureCues = [
        "error", "err!", "err:", "fail", "fatal", "exception", "cannot", "can't", "unable", "not found", "denied",
        "refused", "invalid", "abort", "panic", "killed", "missing", "timeout", "timed out", "couldn't", "could not",
        "unexpected", "crash", "no such", "not available", "unavailable", "no route", "broken", "died", "lost",
        "reset", "exceeded", "exhausted", "mismatch", "incompatible", "unsupported", "not supported", "too old",
        "required", "problem", "critical", "emerg", "traceback", "errno", "oom", "out of memory", "violation",
        "corrupt", "undefined", "unresolved", "insufficient", "not installed", "did not", "wrong", "terminated",
        "segfault", "refus", "unreachable", "rejected", "conflict", "not compatible", "no module", "no cuda",
        "is not", "failure", "assert", "unknown", "bad ", "nan",
    ]

    static func exitPatterns() -> [String] {
        let prefixes = [
            "exit code ", "exit code: ", "exit status ", "exited with code ", "exit status: ", "exitcode: ",
            "status=", "returned a non-zero code: ", "error code ", "exit code=",
        ]
        var patterns: [String] = []
        for prefix in prefixes {
            for suffix in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "<n>", "-"] {
                patterns.append(prefix + suffix)
            }
        }
        return patterns
    }

    static let table: [LogRule] = [
        // Missing headers first: a header path may mention CUDA.
        LogRule(
            .dependencyMissing, .missingHeader, 0.97,
            [
                ".h: no such file", ".h' file not found", "fatal error: <path>: no such file",
                "fatal error: '<path>' file not found", ".hpp: no such file", ".cuh: no such file", "missing header",
                ".h: file not found", ".hpp' file not found",
            ]),

        // CUDA_ERROR
        LogRule(
            .cudaError, .driverMismatch, 0.97,
            [
                "driver/library version mismatch", "driver version is insufficient",
                "nvidia driver on your system is too old",
                "api mismatch", "unsatisfied condition: cuda", "no kernel image is available",
                "not compatible with the current pytorch",
                "unsupported toolchain", "does not match dso version", "compat_not_supported",
                "forward compatibility was attempted",
                "insufficientdriver", "please update your gpu driver", "update your driver to a newer version",
            ]),
        LogRule(
            .cudaError, .xid, 0.97,
            [
                "nvrm: xid", "xid (pci", "nvrm:", "rminitadapter", "fallen off the bus", "gsp!", "double bit error",
                "row remapper",
                "nvlink: fatal", "gpu is lost", "ecc error", "retired pages", "nvidia-modeset: error", "gpu has fallen",
            ]),
        LogRule(
            .cudaError, .gpuDriverLibraryMissing, 0.96,
            [
                "libcuda.so", "libnvidia-ml", "nvml shared library not found", "libnvidia-ptxjitcompiler",
                "librarynotfound",
                "libnvidia-",
            ],
            and: [["cannot open", "not found", "no such file", "failed", "could not load", "missing"]]),
        LogRule(
            .cudaError, .gpuOOM, 0.97,
            [
                "cuda out of memory", "cuda error: out of memory", "cudamalloc failed", "cuda_error_out_of_memory",
                "cublas_status_alloc_failed", "oom when allocating tensor", "resource_exhausted: out of memory",
                "allocate cuda", "no available memory for the cache blocks", "gpu ran out of memory", "gpu oom",
                "failure 2: out of memory", "exhausted, requested", "_bfc) ran out of memory", "gpu out of memory",
                "out of memory on device", "cuda oom", "insufficient gpu memory", "not enough gpu memory",
            ]),
        LogRule(
            .cudaError, .gpuOOM, 0.96, ["on device cuda", "on gpu", "device:gpu"],
            and: [["out of memory", "failed to allocate", "oom"]]),
        LogRule(
            .cudaError, .nccl, 0.96, ["nccl"],
            and: [
                [
                    "error", "nccl warn", "fail", "timeout", "abort", "exception", "unhandled", "timed out",
                    "timing out",
                    "port error", "crash",
                ]
            ],
            not: [
                "undefined symbol", "symbol lookup error", "could not find a version", "no matching distribution",
                "cannot open shared object",
            ]),
        LogRule(
            .cudaError, .noDevice, 0.96,
            [
                "no cuda gpus are available", "no cuda-capable device", "found no nvidia driver",
                "not compiled with cuda",
                "communicate with the nvidia driver", "cuda_error_no_device", "could not select device driver",
                "nvml error",
                "driver not loaded", "invalid device ordinal", "no devices were found", "failed to initialize cuda",
                "unable to determine the device handle", "cuda unknown error", "cuda initialization",
                "cudagetdevicecount",
                "failed to initialize nvml", "initialize nvml", "nvidia-smi has failed", "is_available() is false",
                "is_available() returned false", "no gpu found",
                "no gpus found", "gpu not found",
            ]),
        LogRule(
            .cudaError, .cudnn, 0.96,
            [
                "cudnn_status_", "cublas_status_", "cufft_", "cusolver_status", "cusparse_status", "cudnn error",
                "cudnn failed",
                "loaded runtime cudnn library", "failed to get convolution algorithm",
                "unable to find an engine to execute", "cusolver error", "cublas error",
                "cudnn_status", "curand_status",
            ]),
        LogRule(
            .cudaError, .deviceAssert, 0.96,
            [
                "device-side assert", "srcselectdimsize", "t >= 0 && t < n_classes", "`-sizes[i] <= index",
                "illegal memory access", "misaligned address", "unspecified launch failure",
                "illegal instruction was encountered", "cuda kernel errors might be",
                "launch timed out and was terminated",
                "gpuassert", "cuda runtime error", "out of resource: shared memory", "when stream is capturing",
                "ecc error encountered", "busy or unavailable", "cudaerrorlaunchfailure",
            ]),
        LogRule(.cudaError, .deviceAssert, 0.95, ["block: ["], and: [["thread: ["], ["assertion", "assert"]]),
        LogRule(
            .cudaError, .cudaRuntime, 0.93,
            [
                "cuda error", "cuda failure", "cuda_error_", "cudaerror", "cuda_call", "hiperror", "hip error",
                "cumemalloc",
                "cuinit", "cannot re-initialize cuda", "cuda_success", "tensorrt] error", "cuda-capable", "cuda driver",
                "cuda exception", "cuda call failed", "gpu fault", "cuda kernel failed",
            ],
            not: ["could not find cudatoolkit", "cuda_home", "no cuda runtime is found"]),
        LogRule(.cudaError, .cudaRuntime, 0.9, ["nvidia-smi"], and: [["err!"]]),
        LogRule(
            .cudaError, .gpuOOM, 0.85, ["gpu", "cuda"], and: [["out of memory", " oom", "memory exhausted"]],
            not: ["oom-kill", "oom_kill", "killed process", "oom-killer"]),

        // DEPENDENCY_MISSING
        LogRule(
            .dependencyMissing, .missingModule, 0.97,
            [
                "no module named ", "modulenotfounderror:", "cannot import name", "cannot find module",
                "can't resolve '",
                "module not found", "unresolved import", "can't find crate", "no required module provides package",
                "is not in std", "noclassdeffounderror", "classnotfoundexception", "cannot load such file", "in @inc",
                "requires the following packages that were not found", "missing dependencies", "please install",
                "is required to load", "dll load failed", "cannot find symbol", "`pip install", "requires accelerate",
                "no module named", "could not import module", "missing required dependency",
                "missing optional dependency",
                "is not installed. please", "failed to import", "error: cannot find package",
                "importerror: cannot import",
            ],
            not: ["'no module named'", "\"no module named\""]),
        LogRule(.dependencyMissing, .missingModule, 0.95, ["package "], and: [[" does not exist"]]),
        LogRule(
            .dependencyMissing, .missingSharedLibrary, 0.96,
            [
                "cannot open shared object", "error while loading shared libraries", "cannot find -l",
                "library not found for -l",
                "could not load dynamic library", "dlopen failed", "undefined symbol", "version `glibc",
                "version `glibcxx",
                "symbol not found", "unsatisfiedlinkerror", "cannot load library", "could not load library",
                "image not found",
                "undefined reference to", "could not locate cudnn", "library not loaded", "failed to load driver",
            ]),
        LogRule(
            .dependencyMissing, .missingSharedLibrary, 0.95, [".so", ".dll", ".dylib"],
            and: [["not found", "could not locate", "missing"]]),
        LogRule(
            .dependencyMissing, .missingCommand, 0.96,
            [
                "command not found", "executable file not found", "` not found",
                "could not find any python installation",
                "visual c++", "failed to locate executable", "which: no ", "command could be found",
                "cuda_home environment variable",
                "couldn't find ffmpeg", "java_home is not set", "is not recognized as an internal or external command",
                "no such file or directory: 'ffmpeg'", "not found in $path", "not found in path",
            ]),
        LogRule(.dependencyMissing, .missingCommand, 0.95, ["sh: "], and: [[": not found"]]),
        LogRule(
            .dependencyMissing, .missingCommand, 0.95, ["env: '", "make: "], and: [["no such file or directory"]],
            not: ["make: ***"]),
        LogRule(.dependencyMissing, .missingCommand, 0.95, ["error: command '"], and: [["no such file", "not found"]]),
        LogRule(.dependencyMissing, .missingCommand, 0.95, ["command '"], and: [["could not be found", "not found"]]),
        LogRule(
            .dependencyMissing, .missingPackage, 0.96,
            [
                "unable to locate package", "has no installation candidate", "no matching distribution found",
                "could not find a version that satisfies", "packagesnotfounderror",
                "not available from current channels",
                "is not in this registry", "no matching package named", "could not find artifact",
                "could not resolve dependencies",
                "cannot be found in registry", "was not found in the pkg-config search path",
                "could not find a package configuration file",
                "did not find one", "were not met", "c compiler cannot create executables", "npm err! 404",
                "no package '",
                "could not find com.", "could not find org.", "package not found", "no matching version",
                "not found in registry",
                "could not resolve all files", "unable to find a match", "no match for argument",
                "could not find directory of openssl", "does not have a release file",
                "is not available, but is referred to",
            ]),
        LogRule(.dependencyMissing, .missingPackage, 0.95, ["could not find "], and: [["(missing:", "(missing "]]),
        LogRule(
            .dependencyMissing, .versionConflict, 0.95,
            [
                "dependency conflicts", "conflicting requirements", "dependency resolver found",
                "which is incompatible", "conflicting dependencies", "resolutionimpossible",
                "eresolve",
                "unable to resolve dependency tree", "npm err! peer", "unsatisfiableerror", "versionconflict",
                "multiarray failed to import",
                "compiled using numpy", "binary incompatibility", "required for a normal functioning",
                "unmet dependencies",
                "held broken packages", "dependency problems prevent", "failed to select a version", "requires rustc",
                "go.mod requires go", "dependencyconvergence", "unsupportedclassversionerror",
                "requires a different python", "require a different python",
                "unsupported gpu architecture", "mismatches the version that was used to compile",
                "is incompatible with",
                "incompatible with numpy", "version conflict", "incompatible version", "requires python",
                "not supported by this version",
                "requires a newer version", "version mismatch", "not a supported wheel",
            ]),

        // Runtime faults that mention timeouts but are not network failures.
        LogRule(.runtimeError, .signal, 0.95, ["worker timeout", "all goroutines are asleep", "deadlock detected"]),
        LogRule(
            .runtimeError, .serviceFailed, 0.95,
            ["watchdog timeout", "start operation timed out", "timed out waiting for device"]),

        // NETWORK_FAILURE
        LogRule(
            .networkFailure, .proxy, 0.93,
            [
                "proxyerror", "cannot connect to proxy", "tunnel failed", "tunnel connection failed",
                "proxy authentication required",
                "proxyconnect", "could not resolve proxy", "from proxy", "response 407", "e407", "proxy error",
            ]),
        LogRule(
            .networkFailure, .tls, 0.93,
            [
                "certificate verify failed", "ssl certificate problem", "x509:", "certificate verification failed",
                "sslhandshakeexception", "pkix path building failed", "unable_to_get_issuer_cert",
                "self signed certificate",
                "self-signed certificate", "sslerror", "ssl_error_", "wrong_version_number", "ssl_do_handshake",
                "problem confirming the ssl certificate", "certificate has expired", "tls: failed to verify",
                "certificate is valid for",
                "sslcertverificationerror", "ssl routines", "handshake failure", "tls handshake failed",
                "ssl handshake failed",
                "gnutls recv error", "ssl_connect", "certificate subject name", "no alternative certificate",
            ]),
        LogRule(
            .networkFailure, .dns, 0.93,
            [
                "could not resolve host", "could not resolve hostname", "name or service not known",
                "temporary failure in name resolution",
                "temporary failure resolving", "no such host", "server misbehaving", " enotfound", "eai_again",
                "host not found",
                "nameresolutionerror", "unable to resolve host", "couldn't resolve host", "unknownhostexception",
                "failed to resolve",
                "getaddrinfo failed", "nodename nor servname", "gaierror", "name resolution", "dns lookup failed",
                "nxdomain",
                "could not resolve",
            ]),
        LogRule(
            .networkFailure, .connectionRefused, 0.93,
            [
                "connection refused", "econnrefused", "can't connect to mysql server", "cannot connect to host",
                "cannot connect to the docker daemon", "was refused", "connect call failed", "errno 111",
                "connectionrefused",
                "actively refused",
            ]),
        LogRule(
            .networkFailure, .connectionReset, 0.92,
            [
                "connection reset", "econnreset", "broken pipe", "remote end hung up", "socket hang up",
                "remote end closed connection",
                "connection aborted", "rpc failed", "connection closed by", "recv failure", "send disconnect",
                "brokenpipeerror",
                "remotedisconnected", "connection lost", "connectionreseterror", " epipe", "unexpected eof",
                "peer closed connection",
                "connection was closed", "empty reply from server", "connection was reset",
                "connection closed unexpectedly",
            ]),
        LogRule(
            .networkFailure, .networkUnreachable, 0.93,
            [
                "network is unreachable", "no route to host", "host is unreachable", "enetunreach", "ehostunreach",
                "network unreachable",
            ]),
        LogRule(
            .networkFailure, .timeout, 0.92,
            [
                "timed out", "etimedout", "esockettimedout", "deadline exceeded", "deadline_exceeded",
                "deadlineexceeded",
                "timeouterror", "timeoutexception", "timeout exception", "connecttimeout", "readtimeout",
                "timeout was reached",
                "i/o timeout", "timeout expired", "client.timeout exceeded", "handshake timeout", "request timeout",
                "gateway timeout",
                "timeout after", "timeout waiting", "timeout reading", "timeout while", "timeout exceeded",
                "operation timeout",
                "connection timeout", "read timeout", "connect timeout", "timed-out", "timeout error",
                "timeout occurred", "timeout awaiting", "net/http: timeout",
            ],
            not: ["timeout=", "timeout set", "timeouts: 0"]),
        LogRule(
            .networkFailure, .registry, 0.91,
            [
                "failed to fetch", "failed to download", "too many requests", "toomanyrequests", "pull rate limit",
                "condahttperror",
                "index files failed to download", "pull access denied", "unauthorized: incorrect username",
                "unauthorized: authentication required", "requested access to the resource is denied",
                "could not get '", "http 000",
                "network request to",
                "couldn't connect to", "could not connect to", "spurious network error", "failed to connect",
                "error fetching",
                "download failed", "network connectivity", "unable to access '<url>'", "transient problem",
                "unable to fetch",
                "unable to download", "could not download", "registry returned", "<url>\": denied",
                "<url>\": unauthorized",
            ]),
        LogRule(
            .networkFailure, .httpError, 0.9,
            [
                "service unavailable", "bad gateway", "no live upstreams", "upstream connect error",
                "received status code 5",
                "network error", "failed to establish a new connection", "max retries exceeded", "connectionerror",
                "the requested url returned error", "request canceled", "webhook delivery failed", "server error:",
                "request failed with status code", "connecterror", "connection error", "connection failed",
                "upstream prematurely closed", "can't reach database server", "can't reach", "cannot reach",
                "unable to reach",
                "internal server error", "http error 5", "httperror: 5",
            ]),

        // RUNTIME_ERROR
        LogRule(
            .runtimeError, .segfault, 0.93,
            [
                "segmentation fault", "segfault at", "sigsegv", "bus error", "stack smashing", "double free",
                "malloc(): ",
                "munmap_chunk", "free(): invalid", "illegal instruction", "segmentation violation", "core dumped",
                "access violation", "heap corruption", "corrupted size vs", "memory corruption",
            ]),
        LogRule(
            .runtimeError, .hostOOM, 0.93,
            [
                "out of memory: killed process", "oom-kill", "oom_kill", "oom killer", "oom-killer", "outofmemoryerror",
                "java heap space", "gc overhead limit", "memoryerror", "runtime: out of memory", "heap out of memory",
                "cannot allocate memory", "can't allocate memory", "bad_alloc", "memory allocation of",
                "killed process",
                "memory cgroup out of memory",
                "unable to allocate", "out of memory", "oomkilled", "enomem",
            ]),
        LogRule(
            .runtimeError, .signal, 0.92,
            [
                "exited on signal", "killed by signal", "signal 9", "sigkill", "sigabrt", "/abrt", "/segv", "/kill",
                "code=killed",
                "code=dumped", "terminate called after throwing", "exitcode: -", "childfailederror", "panicked at",
                "panic:",
                "interrupted by signal", "^killed$", "^aborted", "fatal signal", "received signal",
                "terminated by signal",
                "^killed ", "sigbus", "sigill", "sigfpe", "abort trap",
            ]),
        LogRule(
            .runtimeError, .nullDereference, 0.93,
            [
                "nullpointerexception", "nil pointer dereference", "on a `none` value", "unexpectedly found nil",
                "on an `err` value",
                "null pointer", "nullreferenceexception", "null reference", "of undefined", "of null",
            ]),
        LogRule(
            .runtimeError, .typeError, 0.93, ["typeerror", "classcastexception", "cannot be cast to", "type mismatch"]),
        LogRule(
            .runtimeError, .valueError, 0.92,
            [
                "valueerror", "jsondecodeerror", "numberformatexception", "unicodedecodeerror", "unicodeencodeerror",
                "validationerror", "zerodivisionerror", "overflowerror", "shapes cannot be multiplied",
                "must match the size of tensor",
                "scannererror", "syntaxerror", "parseerror", "decodeerror", "invalid literal", "yamlerror",
                "arithmeticexception",
                "division by zero", "to have <n> channels", "dtype mismatch", "shape mismatch", "size mismatch",
            ]),
        LogRule(
            .runtimeError, .indexError, 0.92,
            [
                "indexerror", "keyerror", "out of bounds", "index out of range", "^stopiteration", "indexoutofbounds",
                "nosuchelementexception", "out of range",
            ]),
        LogRule(
            .runtimeError, .attributeError, 0.92,
            [
                "attributeerror", "nameerror", "unboundlocalerror", "referenceerror", "is not defined",
                "has no attribute",
                "nomethoderror", "undefined method", "is not a function",
            ]),
        LogRule(
            .runtimeError, .assertion, 0.92,
            ["assertionerror", "assertion failed", "assertion `", "assert failed", "assertion error", "assertion '"]),
        LogRule(
            .runtimeError, .diskFull, 0.94, ["no space left on device", "disk quota exceeded", "enospc", "disk full"]),
        LogRule(
            .runtimeError, .permissionDenied, 0.92,
            [
                "permission denied", "eacces", "accessdeniedexception", "operation not permitted",
                "read-only file system",
                "a terminal is required to read the password", "apparmor", "access denied", "permissionerror",
                "not permitted",
                "access is denied", "unauthorized access", "insufficient permissions",
            ],
            and: [
                [
                    "denied", "eacces", "not permitted", "read-only", "password", "permissionerror", "insufficient",
                    "unauthorized",
                ]
            ]),
        LogRule(
            .runtimeError, .fileNotFound, 0.92,
            [
                "no such file or directory", "filenotfounderror", "enoent", "filenotfoundexception", "cannot access '",
                "cannot open:",
                "isadirectoryerror", "unable to open database file", "can't load tokenizer", "cannot find file",
                "can't open file",
                "nosuchfileexception", "cannot stat", "file not found", "does not exist", "no such file",
                "notadirectoryerror",
                "could not open file", "failed to open",
            ]),
        LogRule(
            .runtimeError, .serviceFailed, 0.95,
            ["did not complete successfully", "returned non-zero exit status", "non-zero code", "calledprocesserror"]
                + LogRuleSet.exitPatterns()),
        LogRule(
            .runtimeError, .serviceFailed, 0.92,
            [
                "main process exited", "failed with result", "failed to start", "start request repeated too quickly",
                "control process exited", "address already in use", "eaddrinuse", "back-off restarting",
                "crashloopbackoff",
                "elifecycle", "returned non-zero exit status", "non-zero code", "did not complete successfully",
                "[emerg]",
                "entered failed state", "error: recipe `", "is already in use by container", "failed to run",
                "job failed",
                "build failed", "process exited with", "exited with error", "command failed",
            ]),
        LogRule(.runtimeError, .serviceFailed, 0.92, ["make: ***", "job for "], and: [["error", "failed"]]),
        LogRule(
            .runtimeError, .exception, 0.88,
            [
                "traceback (most recent call last)", "exception in thread", "runtimeerror", "recursionerror",
                "notimplementederror",
                "illegalstateexception", "illegalargumentexception", "unhandledpromiserejection", "operationalerror",
                "programmingerror", "integrityerror", "undefinedtable", "crashed", "loss is nan", "or nan",
                "floatingpointerror",
                "invariant failed", "uncaught", "unhandled exception", "unhandled rejection", "event loop is closed",
                "fatal error", "^error: ", "^fatal: ", "^panic", "^exception:", "^exception in", ": exception:",
                "errors.", "error in", "stack trace",
                "stacktrace", "exception occurred", "exception$", "exception: ", "raised an exception",
                "threw an exception",
            ]),
    ]
}
