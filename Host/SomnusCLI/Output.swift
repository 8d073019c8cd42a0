import Foundation
import SupervisorCore

/// A command's result, from which both of its printed forms come: text (usually an aligned table) for people,
/// and JSON, with snake_case keys, for scripts (`--json`).
protocol CommandOutput: Encodable {
    /// The result as people read it, without a final newline.
    var text: String { get }
}

extension GlobalOptions {
    /// Prints `output` on standard output: as JSON with `--json`, else as its text.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` when the value cannot be encoded.
    func emit(_ output: some CommandOutput) throws(SupervisorError) {
        print(json ? try Output.json(output) : output.text)
    }
}

/// The printed forms of command results, and progress notes on standard error.
enum Output {
    /// Rows under a header, each column padded to its widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([header] + rows).map(line).joined(separator: "\n")
    }

    /// A value as pretty, key-sorted JSON.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` when the value cannot be encoded.
    static func json<T: Encodable>(_ value: T) throws(SupervisorError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw SupervisorError(.invalidArgument, "cannot encode the output as JSON", cause: error)
        }
    }

    /// Writes a progress or warning line to standard error.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// What `vm delete`, `down` and `snapshot delete` print: the name deleted, and the VM of a deleted snapshot.
struct DeletedOutput: CommandOutput {
    /// The VM or snapshot deleted.
    var deleted: String
    /// The VM whose snapshot was deleted.
    var vm: String?

    var text: String {
        vm.map { "deleted snapshot \(deleted) of \($0)" } ?? "deleted \(deleted)"
    }
}

/// A list of VMs (`vm list`, and the VM a lifecycle command acted on).
struct VMStatusList: CommandOutput {
    var statuses: [VMStatus]

    func encode(to encoder: any Encoder) throws {
        try statuses.encode(to: encoder)
    }

    var text: String {
        Output.table(
            ["NAME", "STATE", "PROFILE", "VCPUS", "MEMORY", "ADDRESS", "AGENT"],
            statuses.map { status in
                [
                    status.record.name, status.state, status.record.profile, status.vcpus.map(String.init) ?? "-",
                    status.memoryMiB.map { "\($0) MiB" } ?? "-", status.record.address ?? "-",
                    status.record.agentVersion ?? "-",
                ]
            })
    }
}

/// One VM in detail (`vm show`).
struct VMDetail: CommandOutput {
    var status: VMStatus

    func encode(to encoder: any Encoder) throws {
        try status.encode(to: encoder)
    }

    var text: String {
        let record = status.record
        return Output.table(
            ["FIELD", "VALUE"],
            [
                ["name", record.name], ["uuid", record.uuid], ["state", status.state],
                ["profile", record.profile], ["vcpus", status.vcpus.map(String.init) ?? "-"],
                ["memory", status.memoryMiB.map { "\($0) MiB" } ?? "-"],
                ["accelerator", record.accelerator.rawValue], ["address", record.address ?? "-"],
                ["mac", record.macAddress], ["disk", record.diskPath], ["console log", record.consoleLogPath],
                ["agent version", record.agentVersion ?? "-"],
            ])
    }
}

/// The tail of a VM's serial console (`vm console-log`).
struct ConsoleLogOutput: CommandOutput {
    var path: String
    var lines: [String]

    var text: String { lines.joined(separator: "\n") }
}

extension UpSummary: CommandOutput {
    var text: String {
        Output.table(
            ["NAME", "STATE", "ADDRESS", "AGENT", "HEALTH", "BOOT-TO-READY"],
            [[name, state, address, agentVersion, health, String(format: "%.1f s", bootToReadySeconds)]])
    }
}

/// A built base image (`image build`).
struct ImageBuildOutput: CommandOutput {
    var directory: String
    var image: BaseImage

    enum CodingKeys: String, CodingKey {
        case directory, kernel, initrd, disk
        case inputHash = "input_hash"
        case kernelCommandLine = "kernel_command_line"
        case diskFileBytes = "disk_file_bytes"
        case buildSeconds = "build_seconds"
        case dpkgStatus = "dpkg_status"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(directory, forKey: .directory)
        try container.encode(image.inputHash, forKey: .inputHash)
        try container.encode(image.kernel, forKey: .kernel)
        try container.encode(image.initrd, forKey: .initrd)
        try container.encode(image.disk, forKey: .disk)
        try container.encode(image.cmdline, forKey: .kernelCommandLine)
        try container.encodeIfPresent(image.imageBytes, forKey: .diskFileBytes)
        try container.encodeIfPresent(image.buildSeconds, forKey: .buildSeconds)
        try container.encodeIfPresent(image.dpkgStatus, forKey: .dpkgStatus)
    }

    var text: String { "image ready: \(directory)/\(image.disk)" }
}
