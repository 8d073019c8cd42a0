/// Builds a concrete next step from a verdict and the entities the line names.
enum LogSuggestion {
    /// Python import names whose pip distribution has another name.
    static let pipNames: [String: String] = [
        "cv2": "opencv-python-headless", "sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow",
        "bs4": "beautifulsoup4", "skimage": "scikit-image", "dotenv": "python-dotenv", "attr": "attrs",
        "google": "protobuf", "Crypto": "pycryptodome", "jwt": "pyjwt", "dateutil": "python-dateutil",
        "serial": "pyserial", "magic": "python-magic", "docx": "python-docx", "fitz": "pymupdf",
        "flash_attn": "flash-attn", "pytest_asyncio": "pytest-asyncio",
        "sentence_transformers": "sentence-transformers",
        "git": "gitpython", "OpenSSL": "pyopenssl", "Levenshtein": "python-Levenshtein", "distutils": "setuptools",
    ]

    /// Debian packages for common commands.
    static let commandPackages: [String: String] = [
        "nvcc": "nvidia-cuda-toolkit (or the CUDA toolkit matching the driver)", "cmake": "cmake", "git": "git",
        "node": "nodejs", "npm": "npm", "gcc": "build-essential", "cc": "build-essential", "g++": "build-essential",
        "make": "build-essential", "ffmpeg": "ffmpeg", "python": "python-is-python3", "python3": "python3",
        "java": "default-jre-headless", "curl": "curl", "wget": "wget", "unzip": "unzip",
        "poetry": "pipx (then `pipx install poetry`)",
        "docker": "docker.io", "nvidia-smi": "nvidia-utils (matching the driver version)", "ninja": "ninja-build",
        "uvicorn": "the `uvicorn` pip package in the image's venv", "pip": "python3-pip", "jq": "jq", "rsync": "rsync",
    ]

    static func make(category: LogCategory, kind: LogKind, entities: LogEntities) -> String? {
        let path = entities.path.map { " `\($0)`" } ?? ""
        let target = [entities.host, entities.port.map(String.init)].compactMap { $0 }.joined(separator: ":")
        let at = target.isEmpty ? "" : " `\(target)`"
        switch kind {
        case .missingModule:
            guard let module = entities.module else {
                return "Install the missing module in the job's environment (venv: `pip install <package>`)."
            }
            let top = String(module.split(separator: ".").first ?? Substring(module))
            if top.hasPrefix("@") || module.contains("/") && !module.contains(".") {
                return "Install the Node package: `npm install \(module)` in the project directory."
            }
            let package = pipNames[top] ?? top.replacingUnderscores()
            return
                "Install the Python package in the job's venv: `.venv/bin/pip install \(package)` (module `\(module)`)."
        case .missingPackage:
            let name = entities.module.map { " `\($0)`" } ?? ""
            return "Package\(name) is not in the configured sources: check its name and version, run `apt-get update` "
                + "or `pip index versions <name>`, or add the right index/channel."
        case .missingSharedLibrary:
            guard let library = entities.library else {
                return "Find which package ships the missing library with `apt-file search <lib>.so` and install it."
            }
            let base = String(library.split(separator: ".").first ?? Substring(library))
            if base.hasPrefix("libcu") || base.hasPrefix("libnv") {
                return
                    "Install the CUDA toolkit libraries matching the framework (`pip install nvidia-\(base.dropFirst(3))-cu12` "
                    + "or the `cuda-libraries` apt package) so `\(library)` is found; check `LD_LIBRARY_PATH`."
            }
            return "Find the package that ships `\(library)`: `apt-file search \(library)`, then `apt-get install` it "
                + "(usually `\(base)`-named, e.g. the `-dev` package for linking)."
        case .missingCommand:
            guard let command = entities.command else {
                return "Install the missing command or add its directory to PATH (`apt-file search bin/<command>`)."
            }
            let package =
                commandPackages[command].map { "`apt-get install \($0)`" } ?? "`apt-file search bin/\(command)`"
            return "`\(command)` is not installed or not on PATH: install it (\(package)) or fix PATH."
        case .missingHeader:
            let header = entities.header ?? "the header"
            if header.lowercased().hasPrefix("python") {
                return
                    "Install the Python development headers: `apt-get install python3-dev` (for the venv's Python version)."
            }
            return "Install the development package that provides `\(header)`: `apt-file search \(header)`."
        case .versionConflict:
            let name = entities.module.map { " (`\($0)`)" } ?? ""
            return
                "Resolve the version conflict\(name): pin compatible versions in one install command, run `pip check`, "
                + "or recreate the environment."
        case .gpuOOM:
            return "Reduce batch size or sequence length, enable mixed precision or gradient checkpointing, and check "
                + "other GPU users with `nvidia-smi`."
        case .driverMismatch:
            return
                "Driver and CUDA user-space versions disagree: compare `nvidia-smi` with the framework's CUDA build, "
                + "reboot after a driver upgrade, or install a build for the installed driver."
        case .noDevice:
            return "No usable GPU: check `nvidia-smi`, that the GPU is passed through to the VM or container "
                + "(`--gpus all`), and `CUDA_VISIBLE_DEVICES`."
        case .xid:
            return "GPU driver/hardware fault (Xid): read `dmesg | grep -i xid`, check `nvidia-smi -q`; reset the GPU "
                + "(`nvidia-smi -r`) or reboot the VM."
        case .nccl:
            return
                "Rerun with `NCCL_DEBUG=INFO`; check that every rank started, the inter-node network/IB\(at), and GPU health."
        case .cudnn:
            return "Check that cuDNN/cuBLAS match the framework's CUDA build; status errors often hide a GPU OOM, so "
                + "also try a smaller batch."
        case .deviceAssert:
            return "Rerun with `CUDA_LAUNCH_BLOCKING=1` to find the failing kernel; check label and index ranges."
        case .gpuDriverLibraryMissing:
            let library = entities.library.map { " (`\($0)`)" } ?? ""
            return "The NVIDIA driver libraries\(library) are not visible: start the container with `--gpus all` via "
                + "nvidia-container-toolkit, or install the driver in the VM."
        case .cudaRuntime, .cudaOther:
            return
                "Check GPU state with `nvidia-smi` and rerun with `CUDA_LAUNCH_BLOCKING=1` for the exact failing call."
        case .dns:
            let host = entities.host.map { "`\($0)`" } ?? "the host"
            return "Name resolution failed for \(host): check `getent hosts \(entities.host ?? "<host>")` and "
                + "`/etc/resolv.conf` in the guest."
        case .timeout:
            return "The peer\(at) did not answer in time: test with `curl -sv --max-time 10`, check firewall and load, "
                + "then retry with backoff or a longer timeout."
        case .connectionRefused:
            let port = entities.port.map { " (`ss -ltnp | grep :\($0)`)" } ?? " (`ss -ltnp`)"
            return
                "Nothing is listening at\(at.isEmpty ? " the address" : at): start the service or fix host/port\(port)."
        case .connectionReset:
            return "The peer\(at) dropped the connection: check its logs, proxies and MTU; retry the request."
        case .networkUnreachable:
            return
                "No route to\(at.isEmpty ? " the host" : at): check the VM's network (`ip route`, `ip addr`) and the libvirt network."
        case .tls:
            return "TLS verification failed\(at): install the CA (`update-ca-certificates`) or set `SSL_CERT_FILE`/"
                + "`REQUESTS_CA_BUNDLE`, and check the clock."
        case .proxy:
            return "The proxy failed: check `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` and proxy credentials."
        case .registry:
            return "The registry or mirror\(at) failed: retry later, authenticate if rate-limited, or switch mirror."
        case .httpError, .networkOther:
            return "The remote service\(at) failed: check it is up (`curl -sv`), then retry with backoff."
        case .segfault:
            return "Native crash: get a backtrace (`coredumpctl gdb`, or `python -X faulthandler`) and check native "
                + "extension versions."
        case .signal:
            let signal = entities.signal.map { " \($0)" } ?? ""
            return
                "The process was killed by signal\(signal): check `dmesg` for OOM kills and `journalctl` around that time."
        case .hostOOM:
            return
                "Host memory ran out: reduce workers or batch size, add VM memory or swap; see `dmesg | grep -i oom`."
        case .fileNotFound:
            return "Path\(path.isEmpty ? "" : path) does not exist: check the path and working directory (`ls -l`)."
        case .diskFull:
            return
                "The disk is full: check `df -h`, then clean caches (`pip cache purge`, `docker system prune`) or grow the disk."
        case .permissionDenied:
            return
                "Access denied\(path.isEmpty ? "" : " to" + path): check owner and mode (`ls -l`, `id`), or run as the right user."
        case .serviceFailed:
            let status = entities.exitStatus.map { " (exit status \($0))" } ?? ""
            return "The service or command failed\(status): read its output, e.g. `journalctl -u <unit> -n 100`."
        default:
            return category == .other ? nil : "Fix the error at the last frame of the traceback or stack trace."
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
