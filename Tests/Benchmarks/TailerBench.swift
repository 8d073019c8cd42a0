import AgentCore
import AgentLogMonitor
import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `somnus-bench tailer`: lines/s the agent's ``LogTailer`` reads from a file being appended to and rotated by
/// rename every 10 MB, checking that no line is lost or read twice.
struct TailerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailer",
        abstract: "LogTailer lines/s from a file appended to and rotated every 10 MB; counts lost and repeated lines.")
    @Option(help: "Lines the writer appends.") var lines = 2_000_000
    @Option(help: "Bytes after which the writer rotates the file by rename.") var rotateBytes = 10 * 1024 * 1024
    @Option(help: "The writer's pace in MB/s (0: as fast as it can, so several rotations may fall between two polls).")
    var megabytesPerSecond = 0.0

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tailer-bench-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = (directory as NSString).appendingPathComponent("app.log")
        let tailer = try LogTailer(
            paths: [path], stateDirectory: (directory as NSString).appendingPathComponent("state"),
            maximumBytesPerPoll: 64 * 1024 * 1024)
        let total = lines
        let rotate = rotateBytes
        let pace = megabytesPerSecond
        let clock = ContinuousClock()
        let start = clock.now
        let writer = Thread {
            TailerBench.write(lines: total, to: path, rotateBytes: rotate, megabytesPerSecond: pace)
        }
        writer.stackSize = 1 << 20
        writer.start()
        var seen = [Bool](repeating: false, count: total)
        var received = 0
        var duplicates = 0
        var malformed = 0
        var idlePolls = 0
        while idlePolls < 200 {
            let batch = try await tailer.poll()
            if batch.isEmpty {
                idlePolls = writer.isFinished ? idlePolls + 1 : 0
                try await Task.sleep(for: .milliseconds(writer.isFinished ? 5 : 1))
                continue
            }
            idlePolls = 0
            for line in batch {
                received += 1
                guard let number = Self.sequenceNumber(line.bytes), number < total else {
                    malformed += 1
                    continue
                }
                if seen[number] { duplicates += 1 } else { seen[number] = true }
            }
            if received - duplicates - malformed >= total { break }
        }
        let elapsed = clock.now - start
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let seconds = elapsed / .seconds(1)
        let lost = seen.lazy.filter { !$0 }.count
        let rotations =
            (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter {
                $0.hasPrefix("app.log.")
            }.count ?? 0
        print(
            String(
                format: "tailer: %d lines written, %d read in %.3f s = %.0f lines/s; %d rotations; "
                    + "lost %d, duplicated %d, malformed %d; process CPU %.2f s (%.0f lines per CPU second)", total,
                received, seconds, Double(received) / seconds, rotations, lost, duplicates, malformed, cpu,
                Double(received) / max(cpu, 0.001)))
        if lost != 0 || duplicates != 0 || malformed != 0 { throw ExitCode(1) }
    }

    /// The number after `seq=` in a line.
    static func sequenceNumber(_ bytes: [UInt8]) -> Int? {
        guard let marker = bytes.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        var value = 0
        var index = marker + 1
        var digits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            value = value * 10 + Int(bytes[index] - 48)
            index += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// Appends numbered lines in 64 KiB writes, renaming the file to `app.log.<k>` after every `rotateBytes`.
    static func write(lines: Int, to path: String, rotateBytes: Int, megabytesPerSecond: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        var total = 0
        var descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        var written = 0
        var rotation = 0
        var chunk: [UInt8] = []
        chunk.reserveCapacity(70 * 1024)
        func flush() {
            chunk.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let count = Glibc.write(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                    if count <= 0 { return }
                    offset += count
                }
            }
            written += chunk.count
            total += chunk.count
            chunk.removeAll(keepingCapacity: true)
            if megabytesPerSecond > 0 {
                let due = start + .seconds(Double(total) / (megabytesPerSecond * 1e6))
                if clock.now < due {
                    Thread.sleep(forTimeInterval: (due - clock.now) / .seconds(1))
                }
            }
            if written >= rotateBytes {
                close(descriptor)
                rotation += 1
                rename(path, "\(path).\(rotation)")
                descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                written = 0
            }
        }
        for number in 0..<lines {
            chunk.append(contentsOf: "2026-11-24T03:50:56.123456Z node-1 trainer[4242]: step seq=\(number) ok\n".utf8)
            if chunk.count >= 64 * 1024 { flush() }
        }
        flush()
        close(descriptor)
    }
}
