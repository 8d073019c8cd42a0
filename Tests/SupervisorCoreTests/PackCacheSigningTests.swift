import Foundation
import Logging
import Packs
import SupervisorCore
import Testing

/// `apt-get update` with a private configuration: one source, and state, cache and lists under `directory`, so
/// the host's own apt state is never read or written.
struct PrivateApt {
    let directory: String

    init(under root: URL, name: String) throws {
        directory = root.appendingPathComponent("apt-\(name)").path
        for sub in ["state/lists/partial", "cache/archives/partial", "keys"] {
            try FileManager.default.createDirectory(
                atPath: directory + "/" + sub, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755])
        }
        FileManager.default.createFile(atPath: directory + "/state/status", contents: Data())
    }

    /// Copies a keyring where apt's `_apt` user can read it (as the deployer installs it in a guest).
    func installKeyring(_ source: String) throws -> String {
        let target = directory + "/keys/pack-cache.gpg"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        return target
    }

    /// Runs `apt-get update --error-on=any` against `deb [signed-by=KEYRING] URL/apt ./` from empty lists, waiting
    /// on a thread of its own: the cache server answering apt needs the cooperative pool this test would block.
    /// - Returns: apt's exit status and its output (standard output and standard error).
    func update(cacheURL: String, keyring: String) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try self.updateBlocking(cacheURL: cacheURL, keyring: keyring) })
            }.start()
        }
    }

    private func updateBlocking(cacheURL: String, keyring: String) throws -> (status: Int32, output: String) {
        let lists = directory + "/state/lists"
        try? FileManager.default.removeItem(atPath: lists)
        try FileManager.default.createDirectory(atPath: lists + "/partial", withIntermediateDirectories: true)
        let sources = directory + "/sources.list"
        try Data("deb [signed-by=\(keyring)] \(cacheURL)/apt ./\n".utf8).write(to: URL(fileURLWithPath: sources))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/apt-get")
        process.arguments = [
            "update", "--error-on=any",
            "-o", "Dir::Etc::sourcelist=\(sources)", "-o", "Dir::Etc::sourceparts=-",
            "-o", "Dir::Etc::trusted=\(directory)/keys/none.gpg", "-o", "Dir::Etc::trustedparts=\(directory)/keys",
            "-o", "Dir::State=\(directory)/state", "-o", "Dir::State::status=\(directory)/state/status",
            "-o", "Dir::Cache=\(directory)/cache", "-o", "Debug::NoLocking=true",
            // Lists stored as sent, whatever the host's apt configuration says, so the test can read them.
            "-o", "Acquire::GzipIndexes=false",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// The `Packages` list apt stored for the source, or `nil`.
    func storedPackages() -> String? {
        let lists = directory + "/state/lists"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: lists)) ?? []
        guard let name = names.first(where: { $0.hasSuffix("_Packages") }) else { return nil }
        return try? String(contentsOfFile: lists + "/" + name, encoding: .utf8)
    }
}

@Suite("Pack cache signing: a signed flat repository checked by real apt", .serialized, .timeLimit(.minutes(5)))
struct PackCacheSigningTests {
    /// Serves the cache on 127.0.0.1 with the real server while `body` runs.
    private func serving(
        _ cache: PackCache, _ body: @escaping @Sendable (String) async throws -> Void
    ) async throws {
        let failure = try await PackCacheServer.serving(
            cache: cache, host: "127.0.0.1", port: 0, logger: Logger(label: "pack-signing-test")
        ) { url throws(SupervisorError) -> String? in
            do {
                try await body(url)
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let failure { Issue.record(Comment(rawValue: failure)) }
    }

    private static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    @Test("the key is made once, private on disk; Release, InRelease and Release.gpg are written and apt accepts them")
    func signedRepositoryAccepted() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let cache = temporary.cache
        _ = try temporary.addDeb(name: "somnus-tiny", version: "1.0")
        try await cache.rebuildAptIndex()

        for file in ["Packages", "Release", "InRelease", "Release.gpg"] {
            #expect(FileManager.default.fileExists(atPath: cache.aptDirectory + "/" + file), "\(file)")
        }
        let inRelease = try String(contentsOfFile: cache.aptDirectory + "/InRelease", encoding: .utf8)
        #expect(inRelease.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n"))
        #expect(inRelease.contains(" Packages\n"))
        #expect(Self.mode(cache.keyDirectory) == 0o700)
        #expect(Self.mode(cache.gnupgHome) == 0o700)
        let secrets = try FileManager.default.contentsOfDirectory(atPath: cache.gnupgHome + "/private-keys-v1.d")
        #expect(!secrets.isEmpty)
        for secret in secrets {
            #expect(Self.mode(cache.gnupgHome + "/private-keys-v1.d/" + secret) == 0o600, "\(secret)")
        }
        // The key is made once: indexing again signs with the same key.
        let keyring = try await cache.publicKeyring()
        let fingerprint = try await cache.ensureSigningKey()
        try await cache.rebuildAptIndex()
        #expect(try await cache.publicKeyring() == keyring)
        #expect(try await cache.ensureSigningKey() == fingerprint)

        let apt = try PrivateApt(under: temporary.root, name: "signed")
        let installed = try apt.installKeyring(cache.publicKeyringPath)
        try await serving(cache) { url in
            let (status, output) = try await apt.update(cacheURL: url, keyring: installed)
            #expect(status == 0, "\(output)")
            #expect(output.contains("InRelease"), "\(output)")
            let lists = (try? FileManager.default.contentsOfDirectory(atPath: apt.directory + "/state/lists")) ?? []
            #expect(apt.storedPackages()?.contains("Package: somnus-tiny\n") == true, "\(output) \(lists)")
        }
    }

    @Test("a Packages file changed after signing is refused by apt with a hash sum mismatch")
    func tamperedPackagesRefused() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let cache = temporary.cache
        _ = try temporary.addDeb(name: "somnus-tiny", version: "1.0")
        try await cache.rebuildAptIndex()
        let packages = cache.aptDirectory + "/Packages"
        let original = try String(contentsOfFile: packages, encoding: .utf8)
        // Same size, other content: only the hash can tell.
        let tampered = original.replacingOccurrences(of: "Version: 1.0", with: "Version: 6.6")
        #expect(tampered != original && tampered.utf8.count == original.utf8.count)
        try Data(tampered.utf8).write(to: URL(fileURLWithPath: packages))

        let apt = try PrivateApt(under: temporary.root, name: "tampered")
        let installed = try apt.installKeyring(cache.publicKeyringPath)
        try await serving(cache) { url in
            let (status, output) = try await apt.update(cacheURL: url, keyring: installed)
            #expect(status != 0, "\(output)")
            #expect(output.contains("Hash Sum mismatch"), "\(output)")
            #expect(apt.storedPackages() == nil, "\(output)")
        }
    }

    @Test("an InRelease whose signed text was changed is refused as a bad signature")
    func tamperedInReleaseRefused() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let cache = temporary.cache
        _ = try temporary.addDeb(name: "somnus-tiny", version: "1.0")
        try await cache.rebuildAptIndex()
        let path = cache.aptDirectory + "/InRelease"
        let signed = try String(contentsOfFile: path, encoding: .utf8)
        try Data(signed.replacingOccurrences(of: "Label: somnus pack cache", with: "Label: evil pack cache").utf8)
            .write(to: URL(fileURLWithPath: path))

        let apt = try PrivateApt(under: temporary.root, name: "badsig")
        let installed = try apt.installKeyring(cache.publicKeyringPath)
        try await serving(cache) { url in
            let (status, output) = try await apt.update(cacheURL: url, keyring: installed)
            #expect(status != 0, "\(output)")
            #expect(output.contains("BADSIG"), "\(output)")
            #expect(apt.storedPackages() == nil, "\(output)")
        }
    }

    @Test("an unsigned repository is refused as not signed; one signed by another key is refused with NO_PUBKEY")
    func unsignedOrWrongKeyRefused() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let cache = temporary.cache
        _ = try temporary.addDeb(name: "somnus-tiny", version: "1.0")
        try await cache.rebuildAptIndex()

        // Another host's key: a second cache with its own key directory.
        let other = PackCache(
            root: temporary.root.appendingPathComponent("other").path, logger: Logger(label: "pack-signing-test"))
        let otherFingerprint = try await other.ensureSigningKey()
        let fingerprint = try await cache.ensureSigningKey()
        #expect(otherFingerprint != fingerprint)

        let apt = try PrivateApt(under: temporary.root, name: "wrong")
        let wrongKey = try apt.installKeyring(other.publicKeyringPath)
        try await serving(cache) { url in
            let (status, output) = try await apt.update(cacheURL: url, keyring: wrongKey)
            #expect(status != 0, "\(output)")
            #expect(output.contains("NO_PUBKEY \(fingerprint.suffix(16))"), "\(output)")
            #expect(output.contains("is not signed"), "\(output)")
            #expect(apt.storedPackages() == nil, "\(output)")
        }

        for file in ["InRelease", "Release.gpg"] {
            try FileManager.default.removeItem(atPath: cache.aptDirectory + "/" + file)
        }
        let unsigned = try PrivateApt(under: temporary.root, name: "unsigned")
        let rightKey = try unsigned.installKeyring(cache.publicKeyringPath)
        try await serving(cache) { url in
            let (status, output) = try await unsigned.update(cacheURL: url, keyring: rightKey)
            #expect(status != 0, "\(output)")
            #expect(output.contains("Release' is not signed"), "\(output)")
            #expect(unsigned.storedPackages() == nil, "\(output)")
        }
    }

    @Test("a fetch re-signs the index when the key changed, and leaves it alone otherwise")
    func fetchResignsForNewKey() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let cache = temporary.cache
        _ = try temporary.addDeb(name: "somnus-tiny", version: "1.0")
        try await cache.rebuildAptIndex()
        let path = cache.aptDirectory + "/InRelease"
        let first = try String(contentsOfFile: path, encoding: .utf8)
        _ = try await cache.fetch([], dpkgStatus: nil)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == first)

        try FileManager.default.removeItem(atPath: cache.keyDirectory)
        _ = try await cache.fetch([], dpkgStatus: nil)
        let second = try String(contentsOfFile: path, encoding: .utf8)
        #expect(second != first)
        #expect(FileManager.default.fileExists(atPath: cache.publicKeyringPath))
    }

    @Test(
        "a pip step is pinned wheel by wheel, dependencies included, by the sha256 of the cached files; again from the cache",
        .timeLimit(.minutes(3)))
    func pipStepPinned() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let cache = temporary.cache
        let pack = PackManifest(
            name: "dates", description: "d", version: "1",
            steps: [.pip(packages: ["python-dateutil==2.9.0.post0"]), .pip(packages: ["six==1.16.0"])],
            verify: [PackCheck(command: .argv(["true"]))], diskEstimateMB: 0)
        let first = try await cache.fetch([pack], dpkgStatus: nil)
        let locks = try #require(first.pipRequirements["dates"])
        #expect(locks.count == 2)
        // python-dateutil needs six: both are in the first step's set.
        #expect(locks.first?.count == 2)
        #expect(locks.first?.first?.hasPrefix("python_dateutil==2.9.0.post0 --hash=sha256:") == true, "\(locks)")
        #expect(locks.first?.last?.hasPrefix("six==") == true, "\(locks)")
        #expect(
            locks.last == [
                "six==1.16.0 --hash=sha256:"
                    + (try Self.sha256sum(cache.wheelsDirectory + "/six-1.16.0-py2.py3-none-any.whl"))
            ])
        for line in locks.flatMap({ $0 }) {
            let pin = line.prefix { $0 != " " }.replacingOccurrences(of: "==", with: "-")
            let file = try #require(cache.wheelFiles().first { $0.hasPrefix(pin + "-") })
            #expect(line.hasSuffix("--hash=sha256:" + (try Self.sha256sum(cache.wheelsDirectory + "/" + file))))
        }
        #expect(Set(first.wheelsDownloaded) == Set(cache.wheelFiles()))

        let second = try await cache.fetch([pack], dpkgStatus: nil)
        #expect(second.wheelsDownloaded.isEmpty)
        #expect(second.pipRequirements == first.pipRequirements)
    }

    private static func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(output.prefix { $0 != " " })
    }

    @Test("wheel file names pin name and version")
    func wheelPins() {
        #expect(PackCache.wheelPin("six-1.16.0-py2.py3-none-any.whl") == "six==1.16.0")
        #expect(
            PackCache.wheelPin("onnxruntime-1.17.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
                == "onnxruntime==1.17.0")
        #expect(PackCache.wheelPin("pkg-2.0-1-py3-none-any.whl") == "pkg==2.0")
        #expect(PackCache.wheelPin("not-a-wheel.tar.gz") == nil)
        #expect(PackCache.wheelPin("broken-1.0.whl") == nil)
    }
}
