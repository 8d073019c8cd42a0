import Curl
import Foundation
import Logging
import Packs
import SupervisorCore
import Synchronization
import Testing

/// A pack cache in a temporary directory, removed by ``cleanUp()``.
struct TemporaryPackCache {
    let root: URL
    let cache: PackCache

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-pack-cache-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        cache = PackCache(root: root.path, logger: Logger(label: "pack-cache-test"))
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: root)
    }

    /// Builds a real, tiny `.deb` with `dpkg-deb --build` and puts it in the cache's apt directory.
    func addDeb(name: String, version: String) throws -> String {
        let tree = root.appendingPathComponent("deb-\(name)")
        let control = tree.appendingPathComponent("DEBIAN")
        try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
        let bin = tree.appendingPathComponent("usr/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho \(name)\n".utf8).write(to: bin.appendingPathComponent(name))
        try Data(
            """
            Package: \(name)
            Version: \(version)
            Architecture: all
            Maintainer: Somnus tests <tests@somnus.invalid>
            Description: a tiny package built by the pack cache tests

            """.utf8
        ).write(to: control.appendingPathComponent("control"))
        try FileManager.default.createDirectory(atPath: cache.aptDirectory, withIntermediateDirectories: true)
        let file = "\(name)_\(version)_all.deb"
        try run("/usr/bin/dpkg-deb", ["--root-owner-group", "--build", tree.path, cache.aptDirectory + "/" + file])
        return file
    }

    private func run(_ program: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(program) \(arguments) failed")
    }
}

@Suite("Pack cache: apt index, wheel index, downloads and their errors")
struct PackCacheTests {
    @Test("the apt index lists real .deb files with relative file names, and Release holds its SHA-256")
    func aptIndex() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let first = try temporary.addDeb(name: "somnus-tiny", version: "1.0")
        let second = try temporary.addDeb(name: "somnus-other", version: "2.3-1")
        try await temporary.cache.rebuildAptIndex()

        let packages = try String(contentsOfFile: temporary.cache.aptDirectory + "/Packages", encoding: .utf8)
        #expect(packages.contains("Package: somnus-tiny\n"))
        #expect(packages.contains("Version: 1.0\n"))
        #expect(packages.contains("Filename: ./\(first)\n"))
        #expect(packages.contains("Package: somnus-other\n"))
        #expect(packages.contains("Filename: ./\(second)\n"))
        #expect(packages.contains("SHA256: "))
        #expect(temporary.cache.debFiles() == [second, first].sorted())

        let release = try String(contentsOfFile: temporary.cache.aptDirectory + "/Release", encoding: .utf8)
        let size = try #require(
            FileManager.default.attributesOfItem(atPath: temporary.cache.aptDirectory + "/Packages")[.size] as? Int)
        #expect(release.contains(" \(size) Packages\n"))
        #expect(release.contains("SHA256:\n"))
    }

    @Test("the wheel index links every wheel, escaped for HTML")
    func wheelIndex() throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        try FileManager.default.createDirectory(
            atPath: temporary.cache.wheelsDirectory, withIntermediateDirectories: true)
        for name in ["six-1.16.0-py2.py3-none-any.whl", "attrs-23.1.0-py3-none-any.whl"] {
            try Data("zip".utf8).write(to: URL(fileURLWithPath: temporary.cache.wheelsDirectory + "/" + name))
        }
        try temporary.cache.rebuildWheelIndex()
        let page = try String(contentsOfFile: temporary.cache.wheelsDirectory + "/index.html", encoding: .utf8)
        #expect(page.contains("<a href=\"attrs-23.1.0-py3-none-any.whl\">attrs-23.1.0-py3-none-any.whl</a>"))
        #expect(page.contains("<a href=\"six-1.16.0-py2.py3-none-any.whl\">"))
        #expect(temporary.cache.wheelFiles().count == 2)
    }

    @Test("an unknown Debian package fails the fetch with an error naming the pack and the package")
    func unknownAptPackage() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await temporary.cache.fetchApt(
                ["somnus-no-such-package-xyz"], for: "broken_pack", dpkgStatus: "/var/lib/dpkg/status")
        }
        #expect(error?.code == .packFetch)
        #expect(error?.message.contains("broken_pack") == true)
        #expect(error?.message.contains("somnus-no-such-package-xyz") == true)
        #expect(error?.message.contains("Unable to locate package") == true)
        #expect(temporary.cache.debFiles().isEmpty)
    }

    @Test("a whole-pack fetch stops at the first package that cannot be fetched, naming it")
    func packFetchFailure() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let pack = PackManifest(
            name: "broken_pack", description: "d", version: "1", steps: [.apt(packages: ["somnus-missing-pkg"])],
            verify: [PackCheck(command: .argv(["true"]))], diskEstimateMB: 1)
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await temporary.cache.fetch([pack], dpkgStatus: "/var/lib/dpkg/status")
        }
        #expect(error?.message.contains("'broken_pack'") == true)
        #expect(error?.message.contains("somnus-missing-pkg") == true)
    }

    @Test("an unreadable dpkg status file is named in the error")
    func missingStatus() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await temporary.cache.fetchApt(["hello"], for: "p", dpkgStatus: "/nonexistent/dpkg-status")
        }
        #expect(error?.code == .packFetch)
        #expect(error?.message.contains("/nonexistent/dpkg-status") == true)
    }

    @Test(
        "a second fetch of the same Debian package downloads nothing",
        .timeLimit(.minutes(3)))
    func secondFetchIsWarm() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        // Against the host's own status, `hello` is the only package missing (libc6 is installed).
        let first = try await temporary.cache.fetchApt(["hello"], for: "p", dpkgStatus: "/var/lib/dpkg/status")
        #expect(first.count == 1)
        #expect(first.first?.hasPrefix("hello_") == true)
        let second = try await temporary.cache.fetchApt(["hello"], for: "p", dpkgStatus: "/var/lib/dpkg/status")
        #expect(second.isEmpty)
    }

    @Test("the host address is read from a libvirt network definition")
    func networkAddress() {
        let xml = """
            <network><name>somnus</name><bridge name='virbr-somnus'/>
              <ip family='ipv6' address='fd00::1' prefix='64'/>
              <ip address='192.168.213.1' netmask='255.255.255.0'><dhcp/></ip></network>
            """
        #expect(PackCacheServer.hostAddress(networkXML: xml) == "192.168.213.1")
        #expect(PackCacheServer.hostAddress(networkXML: "<network><ip address=\"10.0.0.1\"/></network>") == "10.0.0.1")
        #expect(PackCacheServer.hostAddress(networkXML: "<network><name>x</name></network>") == nil)
    }
}

@Suite("Pack cache server over loopback")
struct PackCacheServerTests {
    @Test("it serves apt/Packages, a .deb and the wheel index read-only", .timeLimit(.minutes(2)))
    func serves() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let deb = try temporary.addDeb(name: "somnus-served", version: "1.0")
        try await temporary.cache.rebuildAptIndex()
        try temporary.cache.rebuildWheelIndex()
        let debBytes = try Data(contentsOf: URL(fileURLWithPath: temporary.cache.aptDirectory + "/" + deb))
        let curl = try CurlClient()

        try await PackCacheServer.serving(
            cache: temporary.cache, host: "127.0.0.1", port: 0, logger: Logger(label: "pack-cache-server-test")
        ) { url throws(SupervisorError) in
            do {
                #expect(url.hasPrefix("http://127.0.0.1:"))
                let packages = try await curl.perform(CurlRequest(url: url + "/apt/Packages"))
                #expect(packages.status == 200)
                #expect(String(decoding: packages.body, as: UTF8.self).contains("Package: somnus-served"))

                let file = try await curl.perform(CurlRequest(url: url + "/apt/" + deb))
                #expect(file.status == 200)
                #expect(Data(file.body) == debBytes)

                let wheels = try await curl.perform(CurlRequest(url: url + "/wheels/"))
                #expect(wheels.status == 200)
                #expect(String(decoding: wheels.body, as: UTF8.self).contains("<html>"))

                let post = try await curl.perform(CurlRequest(method: .post, url: url + "/apt/Packages", body: [1]))
                #expect(post.status == 405)
                let outside = try await curl.perform(CurlRequest(url: url + "/state/empty-dpkg-status"))
                #expect(outside.status == 404)
                let missing = try await curl.perform(CurlRequest(url: url + "/apt/nothing.deb"))
                #expect(missing.status == 404)
            } catch {
                Issue.record("request failed: \(error)")
            }
        }
    }

    @Test("a taken port falls back to a free one and says so", .timeLimit(.minutes(2)))
    func portFallback() async throws {
        let temporary = try TemporaryPackCache()
        defer { temporary.cleanUp() }
        let logger = Logger(label: "pack-cache-server-test")
        let fallback = FallbackRecorder()
        try await PackCacheServer.serving(cache: temporary.cache, host: "127.0.0.1", port: 0, logger: logger) {
            outer throws(SupervisorError) in
            let taken = Int(outer.split(separator: ":").last ?? "") ?? 0
            let inner = try await PackCacheServer.serving(
                cache: temporary.cache, host: "127.0.0.1", port: taken, logger: logger,
                onFallback: { port, _ in fallback.record(port) }
            ) { url throws(SupervisorError) in url }
            #expect(inner != outer)
            #expect(fallback.ports == [taken])
        }
    }
}

/// Collects the ports a fallback reported.
final class FallbackRecorder: Sendable {
    private let storage = Mutex<[Int]>([])

    func record(_ port: Int) {
        storage.withLock { $0.append(port) }
    }

    var ports: [Int] { storage.withLock { $0 } }
}
