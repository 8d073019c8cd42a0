import Foundation
import LogClassifier

/// One labeled line from `Data/*.tsv` (`category<TAB>kind<TAB>line`).
struct LabeledLine: Sendable {
    let category: LogCategory
    let kind: String
    let line: String
}

enum LabeledData {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data")

    /// Every labeled line, in file order (files sorted by name).
    static func load() throws -> [LabeledLine] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".tsv") }
            .sorted()
        var lines: [LabeledLine] = []
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for row in text.split(separator: "\n") where !row.hasPrefix("#") && !row.isEmpty {
                let fields = row.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3, let category = LogCategory(rawValue: String(fields[0])) else {
                    throw DataError(message: "bad row in \(file): \(row)")
                }
                lines.append(LabeledLine(category: category, kind: String(fields[1]), line: String(fields[2])))
            }
        }
        return lines
    }

    /// Deterministic split: a line is held out when the FNV-1a hash of its text is divisible by 5 (about 20 %).
    static func isHeldOut(_ line: String) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in line.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash % 5 == 0
    }

    struct DataError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
