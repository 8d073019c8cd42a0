public import FoundationEssentials

/// One capability pack: what it installs, in order, and how to tell that it worked.
///
/// The JSON form (snake_case keys, unknown keys refused):
/// ```json
/// {"name": "base_tools", "description": "…", "version": "1.0.0", "requires": [],
///  "steps": [{"apt": {"packages": ["git"]}}], "verify": [{"command": ["git", "--version"]}],
///  "disk_estimate_mb": 60}
/// ```
public struct PackManifest: Codable, Sendable, Hashable {
    /// `[a-z0-9_]+`, equal to the file name without `.json`.
    public var name: String
    /// One sentence for people.
    public var description: String
    /// The pack's version (`[0-9A-Za-z.+~-]+`); installing the installed version again is a no-op.
    public var version: String
    /// Packs that must be installed first.
    public var requires: [String]
    /// What to do, in order; at least one.
    public var steps: [PackStep]
    /// How to tell that it worked; at least one.
    public var verify: [PackCheck]
    /// Megabytes of disk the installed pack takes, roughly.
    public var diskEstimateMB: Int

    /// Creates a manifest (not validated; see ``validated()``).
    public init(
        name: String,
        description: String,
        version: String,
        requires: [String] = [],
        steps: [PackStep],
        verify: [PackCheck],
        diskEstimateMB: Int
    ) {
        self.name = name
        self.description = description
        self.version = version
        self.requires = requires
        self.steps = steps
        self.verify = verify
        self.diskEstimateMB = diskEstimateMB
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, version, requires, steps, verify
        case diskEstimateMB = "disk_estimate_mb"
    }

    /// Decodes a manifest, refusing unknown keys and invalid values.
    /// - Parameter decoder: The decoder.
    /// - Throws: A problem naming the field; ``PackError/decoding(_:source:)`` turns it into a ``PackError``.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decode(String.self, forKey: .description)
        version = try container.decode(String.self, forKey: .version)
        requires = try container.decodeIfPresent([String].self, forKey: .requires) ?? []
        steps = try container.decode([PackStep].self, forKey: .steps)
        verify = try container.decode([PackCheck].self, forKey: .verify)
        diskEstimateMB = try container.decode(Int.self, forKey: .diskEstimateMB)
        guard PackRules.isPackName(name) else {
            throw container.problem(.name, "must match [a-z0-9_]+ (at most 64 characters), not '\(name)'")
        }
        guard !description.allSatisfy(\.isWhitespace) else {
            throw container.problem(.description, "must not be empty")
        }
        guard PackRules.isVersion(version) else {
            throw container.problem(.version, "must match [0-9A-Za-z.+~-]+, not '\(version)'")
        }
        for (index, required) in requires.enumerated() {
            let key = [CodingKeys.requires as any CodingKey, PackAnyKey(intValue: index)]
            guard PackRules.isPackName(required) else {
                throw PackFieldProblem(
                    code: .invalidField, path: container.codingPath + key,
                    problem: "must be a pack name ([a-z0-9_]+), not '\(required)'")
            }
            guard required != name else {
                throw PackFieldProblem(
                    code: .cycle, path: container.codingPath + key, problem: "names the pack itself")
            }
        }
        guard Set(requires).count == requires.count else {
            throw container.problem(.requires, "must not name a pack twice")
        }
        guard !steps.isEmpty else { throw container.problem(.steps, "must have at least one step") }
        guard !verify.isEmpty else { throw container.problem(.verify, "must have at least one check") }
        guard (0...1_000_000).contains(diskEstimateMB) else {
            throw container.problem(.diskEstimateMB, "must be 0…1000000, not \(diskEstimateMB)")
        }
    }

    /// Parses and validates the JSON text of one pack.
    /// - Parameters:
    ///   - data: The JSON text.
    ///   - source: The file name used in messages, such as `base_tools.json`.
    /// - Returns: The manifest.
    /// - Throws: ``PackError`` naming `source` and the field.
    public static func parse(_ data: Data, source: String) throws(PackError) -> PackManifest {
        do {
            return try JSONDecoder().decode(PackManifest.self, from: data)
        } catch {
            throw PackError.decoding(error, source: source)
        }
    }

    /// This manifest after the same checks a pack file gets (for manifests built in code).
    /// - Parameter source: The name used in messages.
    /// - Returns: The manifest, unchanged.
    /// - Throws: ``PackError`` naming the field.
    public func validated(source: String = "manifest") throws(PackError) -> PackManifest {
        let data: Data
        do {
            data = try JSONEncoder().encode(self)
        } catch {
            throw PackError(.malformed, "\(source): cannot be encoded", file: source, cause: error)
        }
        return try Self.parse(data, source: source)
    }

    /// Every Debian package of the pack's `apt` steps, in order, each once.
    public var aptPackages: [String] {
        unique(steps.flatMap { step -> [String] in if case .apt(let packages, _) = step { packages } else { [] } })
    }

    /// Every requirement of the pack's `pip` steps, in order, each once.
    public var pipPackages: [String] {
        unique(steps.flatMap { step -> [String] in if case .pip(let packages, _) = step { packages } else { [] } })
    }

    /// The longest an install of the pack may run, in seconds: every step's and every verify check's timeout.
    public var timeoutSeconds: Int {
        steps.reduce(0) { $0 + $1.timeoutSeconds } + verify.reduce(0) { $0 + $1.timeoutSeconds }
    }

    /// The pack's virtual environment for `pip` steps under `root` (`/opt/somnus/packs/NAME/venv` by default).
    /// - Parameter root: The directory holding every pack's directory.
    /// - Returns: The venv's path.
    public func virtualEnvironment(root: String = "/opt/somnus/packs") -> String {
        "\(root)/\(name)/venv"
    }

    private func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}
