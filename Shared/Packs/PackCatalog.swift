import FoundationEssentials

/// A set of packs that refer only to each other, usually every `*.json` file of one directory.
public struct PackCatalog: Sendable, Equatable {
    /// The packs by name.
    public private(set) var packs: [String: PackManifest]

    /// The pack names, sorted.
    public var names: [String] { packs.keys.sorted() }

    /// Builds a catalog from manifests.
    /// - Parameter manifests: Packs with distinct names whose `requires` name packs among them.
    /// - Throws: ``PackError`` (`name_mismatch`) for a duplicate name, (`unknown_pack`) for a requirement that is
    ///   not among them.
    public init(_ manifests: [PackManifest]) throws(PackError) {
        var packs: [String: PackManifest] = [:]
        for manifest in manifests {
            guard packs[manifest.name] == nil else {
                throw PackError(.nameMismatch, "two packs are named '\(manifest.name)'", field: "name")
            }
            packs[manifest.name] = manifest
        }
        self.packs = packs
        for manifest in manifests {
            for (index, required) in manifest.requires.enumerated() where packs[required] == nil {
                let file = "\(manifest.name).json"
                throw PackError(
                    .unknownPack,
                    "\(file): requires[\(index)] names unknown pack '\(required)' (known: \(knownList))",
                    file: file, field: "requires[\(index)]")
            }
        }
    }

    /// Loads every `*.json` file of a directory (other files are ignored).
    /// - Parameter directory: The directory, such as `Images/packs` or `/etc/somnus/packs`.
    /// - Returns: The catalog.
    /// - Throws: ``PackError`` naming the file and the field: malformed JSON, a missing, unknown or invalid field, a
    ///   `name` that differs from the file name, a requirement that is not in the directory, or an unreadable file.
    public static func load(directory: String) throws(PackError) -> PackCatalog {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
                .sorted()
        } catch {
            throw PackError(.io, "\(directory): cannot be read as a directory of pack files", cause: error)
        }
        var manifests: [PackManifest] = []
        for file in files {
            let path = directory.hasSuffix("/") ? directory + file : "\(directory)/\(file)"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PackError(.io, "\(file): cannot be read", file: file)
            }
            let manifest = try PackManifest.parse(data, source: file)
            let expected = String(file.dropLast(".json".count))
            guard manifest.name == expected else {
                throw PackError(
                    .nameMismatch, "\(file): name '\(manifest.name)' must equal the file name '\(expected)'",
                    file: file, field: "name")
            }
            manifests.append(manifest)
        }
        return try PackCatalog(manifests)
    }

    /// The pack with this name.
    /// - Parameter name: A pack name.
    /// - Returns: Its manifest.
    /// - Throws: ``PackError`` (`unknown_pack`) listing the known packs.
    public func manifest(_ name: String) throws(PackError) -> PackManifest {
        guard let manifest = packs[name] else {
            throw PackError(.unknownPack, "unknown pack '\(name)' (known: \(knownList))")
        }
        return manifest
    }

    /// The packs to install, in order, so that every pack comes after the packs it requires; each once.
    /// - Parameter names: The packs asked for, in the order asked.
    /// - Returns: Their manifests with every requirement before its dependants.
    /// - Throws: ``PackError`` (`unknown_pack`) listing the known packs, or (`dependency_cycle`) naming the cycle
    ///   such as `a → b → a`.
    public func installOrder(_ names: [String]) throws(PackError) -> [PackManifest] {
        var order: [PackManifest] = []
        var done = Set<String>()
        var path: [String] = []

        func visit(_ name: String) throws(PackError) {
            if done.contains(name) { return }
            if let start = path.firstIndex(of: name) {
                let cycle = (path[start...] + [name]).joined(separator: " → ")
                throw PackError(.cycle, "packs require each other in a cycle: \(cycle)", field: "requires")
            }
            let manifest = try self.manifest(name)
            path.append(name)
            for required in manifest.requires { try visit(required) }
            path.removeLast()
            done.insert(name)
            order.append(manifest)
        }

        for name in names { try visit(name) }
        return order
    }

    private var knownList: String {
        packs.isEmpty ? "none" : names.joined(separator: ", ")
    }
}
