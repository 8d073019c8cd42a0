import Foundation
import Packs

/// Paths and helpers shared by the pack tests.
enum PackTestSupport {
    /// The repository's root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `Images/packs`.
    static var realPacks: String { repositoryRoot + "/Images/packs" }

    /// `Tests/PacksTests/Fixtures`.
    static var fixtures: String { repositoryRoot + "/Tests/PacksTests/Fixtures" }

    /// A valid pack as a JSON object, to be changed by each test.
    static func validObject(name: String = "sample") -> [String: Any] {
        [
            "name": name,
            "description": "A sample pack.",
            "version": "1.0.0",
            "requires": [],
            "steps": [
                ["apt": ["packages": ["tree"]]],
                ["pip": ["packages": ["requests==2.31.0"]]],
                ["files": [["path": "/etc/sample.conf", "content": "x=1\n", "mode": "0600"]]],
                ["shell": ["command": "echo hi", "timeout_s": 30]],
            ],
            "verify": [["command": ["tree", "--version"], "expect_exit": 0, "expect_output": "^tree v"]],
            "disk_estimate_mb": 5,
        ]
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-packs-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `object` as `<directory>/<file>`.
    static func write(_ object: Any, to directory: String, file: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(file))
    }

    /// A directory holding exactly one pack file built from `object`.
    static func directory(with object: Any, file: String = "sample.json") throws -> String {
        let directory = try temporaryDirectory()
        try write(object, to: directory, file: file)
        return directory
    }
}
