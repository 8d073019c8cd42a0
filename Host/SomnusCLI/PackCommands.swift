import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import ArgumentParser
import Foundation
import Logging
import Packs
import SupervisorCore

/// `somnus pack …`: capability packs from the host's cache, installed behind a snapshot.
struct PacksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "List, fetch and install capability packs (snapshot before each, roll back on failure).",
        subcommands: [PackList.self, PackFetch.self, PackInstall.self])
}

/// Options that locate the pack catalog.
struct PackCatalogOptions: ParsableArguments {
    @Option(help: "A directory of pack files that adds to (and overrides) the repository's Images/packs.")
    var packsDir: String?

    /// The repository's `Images/packs` (when found) merged with `--packs-dir`, validated as one catalog.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the file and field of a malformed pack.
    func catalog() throws(SupervisorError) -> PackCatalog {
        var directories: [String] = []
        if let recipe = try? ImageBuilder.locateRecipe(nil),
            FileManager.default.fileExists(atPath: recipe + "/packs")
        {
            directories.append(recipe + "/packs")
        }
        if let packsDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: packsDir, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw SupervisorError(.notFound, "--packs-dir \(packsDir) is not a directory")
            }
            directories.append(packsDir)
        }
        guard !directories.isEmpty else {
            throw SupervisorError(
                .notFound, "cannot find the pack catalog (Images/packs beside the executable); pass --packs-dir DIR")
        }
        var manifests: [String: PackManifest] = [:]
        for directory in directories {
            do {
                for (name, manifest) in try PackCatalog.load(directory: directory).packs {
                    manifests[name] = manifest
                }
            } catch {
                throw SupervisorError(.invalidArgument, "invalid pack in \(directory): \(error.message)", cause: nil)
            }
        }
        do {
            return try PackCatalog(manifests.keys.sorted().compactMap { manifests[$0] })
        } catch {
            throw SupervisorError(.invalidArgument, error.message)
        }
    }

    /// The packs to install for `names`, requirements first.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` for an unknown pack (listing the known ones) or a cycle.
    func resolve(_ names: [String]) throws(SupervisorError) -> [PackManifest] {
        let catalog = try catalog()
        do {
            return try catalog.installOrder(names)
        } catch {
            throw SupervisorError(.invalidArgument, error.message)
        }
    }
}

extension GlobalOptions {
    /// The pack cache of the state directory.
    func packCache(_ logger: Logger) -> PackCache {
        PackCache(layout: StateLayout(root: stateDir), logger: logger)
    }

    /// The guest's dpkg status saved beside the base image, or `nil` (with a note) when the image has none.
    func guestDpkgStatus() -> String? {
        let status = PackInstallWorkflow.baseImageDpkgStatus(layout: StateLayout(root: stateDir))
        if status == nil { PackInstall.noteNoDpkgStatus() }
        return status
    }
}

struct PackList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the packs of the catalog; with a VM, also what its agent has installed.",
        discussion: "Example: somnus pack list demo")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var catalogOptions: PackCatalogOptions
    @Argument(help: "A VM whose installed packs to show.") var vm: String?

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let catalog = try catalogOptions.catalog()
            var installed: [String: InstalledPack] = [:]
            if let vm {
                let manager = try await options.manager(logger)
                let record = try manager.record(vm)
                guard let address = record.address else {
                    throw SupervisorError(.invalidState, "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
                }
                let client = try AgentConnector(manager: manager).client(for: record, address: address)
                do {
                    let packs = try await client.call { try await $0.listPacks().ok.body.json }
                    for pack in packs.installed { installed[pack.name] = pack }
                } catch {
                    throw SupervisorError(.agent, "the agent of '\(vm)' did not list its packs", cause: error)
                }
            }
            let rows = catalog.names.compactMap { catalog.packs[$0] }.map { pack in
                PackListRow(
                    name: pack.name, version: pack.version, requires: pack.requires,
                    diskEstimateMB: pack.diskEstimateMB, description: pack.description,
                    installedVersion: installed[pack.name]?.version,
                    installResult: installed[pack.name]?.result.rawValue)
            }
            try options.emit(PackListOutput(rows: rows, showsInstalled: vm != nil))
        }
    }
}

/// The catalog, with what a VM's agent installed when a VM is given (`pack list`).
struct PackListOutput: CommandOutput {
    var rows: [PackListRow]
    var showsInstalled: Bool

    func encode(to encoder: any Encoder) throws {
        try rows.encode(to: encoder)
    }

    var text: String {
        var header = ["NAME", "VERSION", "REQUIRES", "DISK"]
        if showsInstalled { header.append("INSTALLED") }
        header.append("DESCRIPTION")
        return Output.table(
            header,
            rows.map { row in
                var cells = [
                    row.name, row.version, row.requires.isEmpty ? "-" : row.requires.joined(separator: ","),
                    "\(row.diskEstimateMB) MB",
                ]
                if showsInstalled {
                    cells.append(row.installedVersion.map { "\($0) (\(row.installResult ?? "?"))" } ?? "no")
                }
                cells.append(row.description)
                return cells
            })
    }
}

/// One row of `somnus pack list`.
struct PackListRow: Codable {
    var name: String
    var version: String
    var requires: [String]
    var diskEstimateMB: Int
    var description: String
    var installedVersion: String?
    var installResult: String?

    enum CodingKeys: String, CodingKey {
        case name, version, requires, description
        case diskEstimateMB = "disk_estimate_mb"
        case installedVersion = "installed_version"
        case installResult = "install_result"
    }
}

struct PackFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download what packs need (and the guest lacks) into the host's pack cache ahead of time.",
        discussion: "Example: somnus pack fetch ai_research")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var catalogOptions: PackCatalogOptions
    @Argument(help: "The packs (their requirements are fetched too).") var packs: [String]

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            guard !packs.isEmpty else { throw SupervisorError(.invalidArgument, "name at least one pack") }
            let order = try catalogOptions.resolve(packs)
            let cache = options.packCache(logger)
            Output.note("pack: fetching \(order.map(\.name).joined(separator: ", ")) into \(cache.root)")
            let report = try await cache.fetch(order, dpkgStatus: options.guestDpkgStatus())
            try options.emit(report)
        }
    }
}

extension PackFetchReport: CommandOutput {
    var text: String {
        if wasWarm {
            return String(format: "cache warm: nothing downloaded (%.1f s)", seconds)
        }
        return String(
            format: "downloaded %d Debian packages and %d wheels (%.1f s)", aptDownloaded.count,
            wheelsDownloaded.count, seconds)
    }
}

struct PackInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract:
            "Install packs into a VM from the host cache: snapshot before each, verify, roll back and stop on failure.",
        discussion: "Example: somnus pack install demo web_development")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var catalogOptions: PackCatalogOptions
    @Flag(help: "Do not snapshot before each pack (a failure then cannot be rolled back).") var noSnapshot = false
    @Option(help: "Port of the pack cache on the VM network (a free one is used when it is taken).")
    var cachePort = PackCacheServer.defaultPort
    @Argument(help: "The VM's name.") var vm: String
    @Argument(help: "The packs (their requirements are installed first).") var packs: [String]

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            guard !packs.isEmpty else { throw SupervisorError(.invalidArgument, "name at least one pack") }
            let order = try catalogOptions.resolve(packs)
            let manager = try await options.manager(logger)
            let workflow = PackInstallWorkflow(manager: manager, cache: options.packCache(logger), logger: logger)
            let verbose = options.verbose
            let summary = try await workflow.run(
                PackInstallWorkflow.Request(vm: vm, packs: order, snapshot: !noSnapshot, cachePort: cachePort)
            ) { event in
                switch event {
                case .fetching(let names):
                    Output.note("pack: fetching \(names.joined(separator: ", ")) into the host cache")
                case .noDpkgStatus:
                    PackInstall.noteNoDpkgStatus()
                case .fetched(let report):
                    Output.note("pack: " + report.text)
                case .portTaken(let port, let why):
                    Output.note("pack: port \(port) is taken (\(why)); using a free one")
                case .serving(let url):
                    Output.note("pack: serving the cache at \(url)")
                case .snapshot(let line):
                    Output.note("  " + line)
                case .pack(let progress):
                    PackInstall.show(progress, verbose: verbose)
                }
            }
            try options.emit(summary)
            if let failure = summary.failure {
                throw failure
            }
        }
    }

    static func noteNoDpkgStatus() {
        Output.note(
            "pack: the base image has no saved dpkg status (rebuild it with `somnus image build`); "
                + "fetching every dependency")
    }

    static func show(_ progress: PackProgress, verbose: Bool) {
        switch progress {
        case .snapshot(let pack, let name):
            Output.note("[\(pack)] snapshot \(name)")
        case .step(let pack, let index, let count, let description):
            Output.note("[\(pack)] step \(index + 1)/\(count): \(description)")
        case .verify(let pack, let checks):
            Output.note("[\(pack)] verifying (\(checks) checks)")
        case .log(let pack, let line):
            if verbose { Output.note("[\(pack)]   \(line)") }
        case .revert(let pack, let snapshot):
            Output.note("[\(pack)] FAILED; reverting to \(snapshot)")
        case .finished(let result):
            var line = "[\(result.pack)] \(result.outcome.rawValue)"
            if let error = result.error { line += ": \(error)" }
            if let output = result.failureOutput, !output.isEmpty {
                line += "\n" + output.split(separator: "\n").suffix(10).map { "    " + $0 }.joined(separator: "\n")
            }
            Output.note(line)
        }
    }
}

extension PackInstallSummary: CommandOutput {
    var text: String {
        func seconds(_ value: Double?) -> String {
            value.map { String(format: "%.1f", $0) } ?? "-"
        }
        let table = Output.table(
            ["PACK", "VERSION", "RESULT", "SNAPSHOT", "SNAPSHOT-S", "INSTALL-S", "VERIFY-S", "REVERT-S"],
            results.map { result in
                [
                    result.pack, result.version, result.outcome.rawValue,
                    result.snapshot.map { $0 + (result.quiesced == true ? " (quiesced)" : "") } ?? "-",
                    seconds(result.phases.snapshot), seconds(result.phases.install), seconds(result.phases.verify),
                    seconds(result.phases.revert),
                ]
            })
        return table + "\n"
            + String(format: "fetch: %.1f s (%@)", fetchSeconds, cacheWarm ? "warm cache" : "downloaded")
    }
}
