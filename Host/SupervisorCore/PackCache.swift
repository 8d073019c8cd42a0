import Crypto
import Foundation
public import Logging
public import Packs

/// The host's pack cache: Debian packages in a flat apt repository and Python wheels, kept under the state
/// directory and served read-only to guests by ``PackCacheServer``.
///
/// Layout under ``root``:
/// - `apt/`: the `.deb` files, `Packages` (from `dpkg-scanpackages`), `Release` (its SHA-256) and the
///   signatures `InRelease` and `Release.gpg` made with the host's pack-cache key, so a guest uses
///   `deb [signed-by=/etc/somnus/pack-cache.gpg] http://HOST:PORT/apt ./`.
/// - `wheels/`: the wheels and an `index.html` linking each one, so `pip --no-index --find-links
///   http://HOST:PORT/wheels/` works; each pip step is installed with `--require-hashes` from the hashes
///   ``fetch(_:dpkgStatus:)`` reports.
///
/// The signing key (see `PackCache+Signing.swift`) lives in ``keyDirectory``, outside the served directories.
///
/// Debian packages are resolved against the *guest's* dpkg status (saved beside the base image by the image
/// recipe), so only what the guest lacks is downloaded. Files already in the cache are never downloaded again.
public struct PackCache: Sendable {
    /// The cache's directory, `<state-dir>/pack-cache`.
    public let root: String
    /// The signing key's directory (mode 0700): `<state-dir>/pack-key` for a state directory's cache.
    public let keyDirectory: String
    let logger: Logger

    /// The Python version the guest runs (Debian 12's).
    public static let guestPythonVersion = "3.11"
    /// The wheel platforms a Debian 12 guest (glibc 2.36, x86_64) can install.
    public static let guestWheelPlatforms = ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"]

    /// Creates a cache rooted at `root` (the directories are created when first filled).
    /// - Parameters:
    ///   - root: The cache's directory.
    ///   - keyDirectory: The signing key's directory; `root/key` when `nil`.
    ///   - logger: Receives one debug line per host command.
    public init(root: String, keyDirectory: String? = nil, logger: Logger) {
        self.root = root
        self.keyDirectory = keyDirectory ?? root + "/key"
        self.logger = logger
    }

    /// The cache of a state directory: `<state-dir>/pack-cache`.
    /// - Parameters:
    ///   - layout: The supervisor's state layout.
    ///   - logger: Receives one debug line per host command.
    public init(layout: StateLayout, logger: Logger) {
        self.init(root: layout.root + "/pack-cache", keyDirectory: layout.root + "/pack-key", logger: logger)
    }

    /// The flat apt repository's directory.
    public var aptDirectory: String { root + "/apt" }
    /// The wheel directory.
    public var wheelsDirectory: String { root + "/wheels" }

    /// Downloads what the packs need and the guest lacks, then rebuilds the indexes.
    /// - Parameters:
    ///   - packs: The packs to fetch for.
    ///   - dpkgStatus: The guest's `/var/lib/dpkg/status` as saved beside the image; `nil` resolves against an
    ///     empty system (downloads every dependency).
    /// - Returns: What was downloaded now (empty when everything was cached already).
    /// - Throws: ``SupervisorError/Code/packFetch`` naming the pack and the package that could not be fetched.
    public func fetch(_ packs: [PackManifest], dpkgStatus: String?) async throws(SupervisorError) -> PackFetchReport {
        let clock = ContinuousClock()
        let start = clock.now
        try prepareDirectories()
        var report = PackFetchReport(packs: packs.map(\.name))
        for pack in packs {
            report.aptDownloaded += try await fetchApt(pack.aptPackages, for: pack.name, dpkgStatus: dpkgStatus)
            var locks: [[String]] = []
            for case .pip(let requirements, _) in pack.steps {
                let wheels = try await fetchWheelStep(requirements, for: pack.name)
                report.wheelsDownloaded += wheels.downloaded
                locks.append(wheels.requirements)
            }
            if !locks.isEmpty { report.pipRequirements[pack.name] = locks }
        }
        let unsigned = try await aptIndexNeedsSigning()
        if !report.aptDownloaded.isEmpty || unsigned {
            try await rebuildAptIndex()
        }
        if !report.wheelsDownloaded.isEmpty
            || !FileManager.default.fileExists(atPath: wheelsDirectory + "/index.html")
        {
            try rebuildWheelIndex()
        }
        report.seconds = (clock.now - start) / .seconds(1)
        return report
    }

    /// Downloads Debian packages and their dependencies that the guest lacks into ``aptDirectory``.
    /// - Parameters:
    ///   - packages: Debian package names.
    ///   - pack: The pack asking, named in errors.
    ///   - dpkgStatus: The guest's dpkg status file, or `nil` for an empty system.
    /// - Returns: The `.deb` files downloaded now.
    /// - Throws: ``SupervisorError/Code/packFetch`` with apt's own error lines (which name the package).
    public func fetchApt(
        _ packages: [String], for pack: String, dpkgStatus: String?
    ) async throws(SupervisorError) -> [String] {
        guard !packages.isEmpty else { return [] }
        try prepareDirectories()
        var status = dpkgStatus ?? ""
        if dpkgStatus == nil { status = try emptyStatusFile() }
        guard FileManager.default.isReadableFile(atPath: status) else {
            throw SupervisorError(.packFetch, "the guest's dpkg status file \(status) cannot be read")
        }
        try await ensureAptLists()
        let before = files(in: aptDirectory, suffix: ".deb")
        let arguments =
            [
                "install", "--download-only", "-y", "-q", "--no-install-recommends",
                "-o", "Dir::State::status=\(status)",
                "-o", "Dir::Cache::archives=\(aptDirectory)",
                "-o", "Debug::NoLocking=true",
                "-o", "APT::Get::AllowUnauthenticated=false",
            ] + packages
        logger.debug(
            "pack cache apt download",
            metadata: ["pack.name": "\(pack)", "pack.apt": "\(packages.joined(separator: " "))"])
        do {
            try await PackHostCommand.run("apt-get", arguments)
        } catch {
            throw SupervisorError(
                .packFetch,
                "cannot fetch the Debian packages of pack '\(pack)' (\(packages.joined(separator: " "))): "
                    + PackCache.aptProblem(error.message))
        }
        return files(in: aptDirectory, suffix: ".deb").subtracting(before).sorted()
    }

    /// Downloads wheels for the guest's Python into ``wheelsDirectory``.
    /// - Parameters:
    ///   - requirements: pip requirement strings.
    ///   - pack: The pack asking, named in errors.
    /// - Returns: The wheel files downloaded now.
    /// - Throws: ``SupervisorError/Code/packFetch`` with pip's error lines (which name the requirement).
    public func fetchWheels(_ requirements: [String], for pack: String) async throws(SupervisorError) -> [String] {
        try await fetchWheelStep(requirements, for: pack).downloaded
    }

    /// Resolves one pip step's requirements with their dependencies, downloads the wheels the cache lacks and
    /// pins the whole set by hash.
    ///
    /// pip downloads into an empty staging directory with the cache as an extra source, so the staging directory
    /// ends up holding exactly the step's wheel set; wheels new to the cache move into ``wheelsDirectory``. The
    /// hashes are computed from the files in ``wheelsDirectory``, the ones the guest downloads.
    /// - Parameters:
    ///   - requirements: pip requirement strings of one step.
    ///   - pack: The pack asking, named in errors.
    /// - Returns: The wheels downloaded now and one `name==version --hash=sha256:HEX` line per wheel of the set.
    /// - Throws: ``SupervisorError/Code/packFetch`` with pip's error lines (which name the requirement).
    public func fetchWheelStep(
        _ requirements: [String], for pack: String
    ) async throws(SupervisorError) -> PackWheelSet {
        guard !requirements.isEmpty else { return PackWheelSet(downloaded: [], requirements: []) }
        try prepareDirectories()
        let staging = root + "/state/wheels-\(UUID().uuidString.lowercased())"
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw SupervisorError(.packFetch, "cannot create \(staging)", cause: error)
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }
        var arguments = [
            "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "-q", "--only-binary=:all:",
            "--python-version", PackCache.guestPythonVersion, "--implementation", "cp", "-d", staging,
        ]
        for platform in PackCache.guestWheelPlatforms {
            arguments += ["--platform", platform]
        }
        arguments += ["--find-links", wheelsDirectory]
        arguments += requirements
        logger.debug(
            "pack cache wheel download",
            metadata: ["pack.name": "\(pack)", "pack.pip": "\(requirements.joined(separator: " "))"])
        do {
            try await PackHostCommand.run("python3", arguments)
        } catch {
            throw SupervisorError(
                .packFetch,
                "cannot fetch the Python wheels of pack '\(pack)' (\(requirements.joined(separator: " "))): "
                    + PackCache.lastLines(error.message, matching: "ERROR"))
        }
        let staged = files(in: staging, suffix: ".whl").sorted()
        var downloaded: [String] = []
        for wheel in staged where !FileManager.default.fileExists(atPath: wheelsDirectory + "/" + wheel) {
            do {
                try FileManager.default.moveItem(atPath: staging + "/" + wheel, toPath: wheelsDirectory + "/" + wheel)
            } catch {
                throw SupervisorError(.packFetch, "cannot move \(wheel) into \(wheelsDirectory)", cause: error)
            }
            downloaded.append(wheel)
        }
        var lines: [String] = []
        for wheel in staged {
            guard let pin = PackCache.wheelPin(wheel) else {
                throw SupervisorError(.packFetch, "pack '\(pack)': '\(wheel)' is not a wheel file name")
            }
            let hash = try sha256(ofFile: wheelsDirectory + "/" + wheel)
            lines.append("\(pin) --hash=sha256:\(hash)")
        }
        return PackWheelSet(downloaded: downloaded, requirements: lines)
    }

    /// `name==version` of a wheel file name (`name-version(-build)?-python-abi-platform.whl`).
    /// - Parameter file: Such as `six-1.16.0-py2.py3-none-any.whl`.
    /// - Returns: Such as `six==1.16.0`, or `nil` when `file` is not a wheel name.
    public static func wheelPin(_ file: String) -> String? {
        guard file.hasSuffix(".whl") else { return nil }
        let parts = file.dropLast(4).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 5 || parts.count == 6, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return "\(parts[0])==\(parts[1])"
    }

    /// The hex SHA-256 of a file.
    func sha256(ofFile path: String) throws(SupervisorError) -> String {
        do {
            return try FileSHA256.hex(ofFile: path)
        } catch {
            throw SupervisorError(.packFetch, "cannot read \(path)", cause: error)
        }
    }

    /// Rewrites `apt/Packages` (with `dpkg-scanpackages`) and `apt/Release` from the `.deb` files present, then
    /// signs `Release` with the host's pack-cache key (`InRelease` and `Release.gpg`), creating the key first
    /// when there is none.
    /// - Throws: ``SupervisorError/Code/packFetch`` when the index cannot be built, written or signed.
    public func rebuildAptIndex() async throws(SupervisorError) {
        try prepareDirectories()
        let packages: String
        do {
            packages = try await PackHostCommand.run(
                "dpkg-scanpackages", ["--multiversion", "."], workingDirectory: aptDirectory)
        } catch {
            throw SupervisorError(.packFetch, "cannot index the apt cache \(aptDirectory)", cause: error)
        }
        let packagesData = Data(packages.utf8)
        let release = """
            Origin: somnus
            Label: somnus pack cache
            Suite: ./
            Date: \(PackCache.rfc2822(Date()))
            SHA256:
             \(FileSHA256.hex(SHA256.hash(data: packagesData))) \(packagesData.count) Packages

            """
        try write(packagesData, to: aptDirectory + "/Packages")
        try write(Data(release.utf8), to: aptDirectory + "/Release")
        try await signRelease()
    }

    /// Rewrites `wheels/index.html`: one link per wheel, the page pip's `--find-links` reads.
    /// - Throws: ``SupervisorError/Code/packFetch`` when it cannot be written.
    public func rebuildWheelIndex() throws(SupervisorError) {
        try prepareDirectories()
        let links = files(in: wheelsDirectory, suffix: ".whl").sorted().map { file in
            let escaped = file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file
            return "<a href=\"\(escaped)\">\(PackCache.htmlEscaped(file))</a><br>"
        }
        let page = (["<!DOCTYPE html>", "<html><body>"] + links + ["</body></html>", ""]).joined(separator: "\n")
        try write(Data(page.utf8), to: wheelsDirectory + "/index.html")
    }

    /// The `.deb` files in the cache.
    public func debFiles() -> [String] {
        files(in: aptDirectory, suffix: ".deb").sorted()
    }

    /// The wheel files in the cache.
    public func wheelFiles() -> [String] {
        files(in: wheelsDirectory, suffix: ".whl").sorted()
    }

    // MARK: Helpers

    func prepareDirectories() throws(SupervisorError) {
        do {
            for directory in [aptDirectory + "/partial", wheelsDirectory, root + "/state"] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        } catch {
            throw SupervisorError(.packFetch, "cannot create the pack cache under \(root)", cause: error)
        }
    }

    private func emptyStatusFile() throws(SupervisorError) -> String {
        let path = root + "/state/empty-dpkg-status"
        if !FileManager.default.fileExists(atPath: path) {
            try write(Data(), to: path)
        }
        return path
    }

    /// Runs `apt-get update` once when the host has no package lists (a fresh container or host).
    private func ensureAptLists() async throws(SupervisorError) {
        let lists = (try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/apt/lists")) ?? []
        guard !lists.contains(where: { $0.contains("_Packages") }) else { return }
        do {
            try await PackHostCommand.run("apt-get", ["update", "-q"])
        } catch {
            throw SupervisorError(
                .packFetch, "the host has no apt package lists and `apt-get update` failed", cause: error)
        }
    }

    private func files(in directory: String, suffix: String) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(names.filter { $0.hasSuffix(suffix) })
    }

    func write(_ data: Data, to path: String) throws(SupervisorError) {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SupervisorError(.packFetch, "cannot write \(path)", cause: error)
        }
    }

    /// apt's `E:` lines from a failed command's message, or its end when there are none.
    static func aptProblem(_ message: String) -> String {
        lastLines(message, matching: "E:")
    }

    static func lastLines(_ message: String, matching marker: String) -> String {
        let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let matching = lines.filter { $0.contains(marker) }
        let chosen = matching.isEmpty ? Array(lines.suffix(5)) : matching
        return chosen.joined(separator: "; ")
    }

    static func htmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }
}

/// What one ``PackCache/fetch(_:dpkgStatus:)`` downloaded.
public struct PackFetchReport: Codable, Sendable, Equatable {
    /// The packs fetched for.
    public var packs: [String]
    /// `.deb` files downloaded now (empty on a warm cache).
    public var aptDownloaded: [String]
    /// Wheel files downloaded now (empty on a warm cache).
    public var wheelsDownloaded: [String]
    /// Per pack with `pip` steps, one list per `pip` step in order: every wheel of that step's resolved set
    /// (dependencies included) as `name==version --hash=sha256:HEX`, hashed from the cached file. The guest
    /// installs each step from its list with `pip --require-hashes`.
    public var pipRequirements: [String: [[String]]]
    /// How long the fetch took.
    public var seconds: Double

    /// Creates a report.
    public init(
        packs: [String], aptDownloaded: [String] = [], wheelsDownloaded: [String] = [],
        pipRequirements: [String: [[String]]] = [:], seconds: Double = 0
    ) {
        self.packs = packs
        self.aptDownloaded = aptDownloaded
        self.wheelsDownloaded = wheelsDownloaded
        self.pipRequirements = pipRequirements
        self.seconds = seconds
    }

    /// Whether nothing had to be downloaded.
    public var wasWarm: Bool { aptDownloaded.isEmpty && wheelsDownloaded.isEmpty }

    enum CodingKeys: String, CodingKey {
        case packs, seconds
        case aptDownloaded = "apt_downloaded"
        case wheelsDownloaded = "wheels_downloaded"
        case pipRequirements = "pip_requirements"
    }
}

/// One pip step's wheels, as ``PackCache/fetchWheelStep(_:for:)`` found them.
public struct PackWheelSet: Sendable, Equatable {
    /// The wheel files downloaded now.
    public var downloaded: [String]
    /// Every wheel of the step's resolved set as `name==version --hash=sha256:HEX`, in file-name order.
    public var requirements: [String]

    /// Creates a wheel set.
    public init(downloaded: [String], requirements: [String]) {
        self.downloaded = downloaded
        self.requirements = requirements
    }
}

extension SupervisorError.Code {
    /// The pack cache could not download or index what a pack needs.
    public static let packFetch = SupervisorError.Code("pack_fetch")
    /// A pack's install or verification failed in the guest.
    public static let packInstall = SupervisorError.Code("pack_install")
}
