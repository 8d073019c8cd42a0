package import AgentAPI
import AgentBasics
import AgentJobs
import FoundationEssentials
package import LogClassifier
import NIOPosix
import Subprocess

#if canImport(Glibc)
    import Glibc
#endif

/// Reads `/proc`, `statfs` (on `NIOThreadPool`) and `systemctl show` (through swift-subprocess) into a
/// ``StatsResponse``. It keeps the previous CPU counters to turn them into percentages.
package struct SystemSampler: Sendable {
    private var previousCPU: (busy: UInt64, total: UInt64)?
    private var previousProcessTicks: [Int: (ticks: UInt64, at: Double)] = [:]

    package init() {}

    /// Takes one sample.
    /// - Parameter units: The units to report, in order.
    /// - Throws: When the thread pool is shutting down.
    package mutating func sample(units: [String]) async throws -> StatsResponse {
        let states = await Self.unitStates(units)
        let current = self
        let (stats, next) = try await NIOThreadPool.singleton.runIfActive {
            var sampler = current
            return (sampler.sample(units: units, states: states), sampler)
        }
        self = next
        return stats
    }

    /// The sample from `/proc` and `statfs`, with the units' states as `systemctl` gave them. Blocking.
    private mutating func sample(units: [String], states: [String: (active: String, pid: Int?)]) -> StatsResponse {
        let now = Date().timeIntervalSince1970
        let memory = Self.memory()
        return StatsResponse(
            timestamp: now,
            cpuPercent: cpuPercent(),
            cpuCount: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            memoryTotalBytes: memory.total,
            memoryUsedBytes: memory.total - min(memory.total, memory.available),
            memoryAvailableBytes: memory.available,
            loadAverages: Self.loadAverages(),
            filesystems: Self.filesystems(),
            network: Self.network(),
            units: unitStats(units, states: states, now: now),
            errorCounts: [:]
        )
    }

    /// The `error_counts` of a stats answer: failure categories with at least one event (`OTHER` left out).
    package static func errorCounts(_ counts: [LogCategory: Int]) -> [String: Int] {
        var result: [String: Int] = [:]
        for (category, count) in counts where category != .other && count > 0 { result[category.rawValue] = count }
        return result
    }

    private mutating func cpuPercent() -> Double {
        guard let line = Self.read("/proc/stat")?.split(separator: "\n").first, line.hasPrefix("cpu ") else {
            return 0
        }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 4 else { return 0 }
        let total = values.reduce(0, +)
        let idle = values[3] + (values.count > 4 ? values[4] : 0)
        let busy = total - idle
        defer { previousCPU = (busy, total) }
        guard let previous = previousCPU, total > previous.total else { return 0 }
        return Double(busy - min(busy, previous.busy)) / Double(total - previous.total) * 100
    }

    private static func memory() -> (total: UInt64, available: UInt64) {
        var total: UInt64 = 0
        var available: UInt64 = 0
        for line in read("/proc/meminfo")?.split(separator: "\n") ?? [] {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = UInt64(fields[1]) else { continue }
            if fields[0] == "MemTotal:" { total = kilobytes * 1024 }
            if fields[0] == "MemAvailable:" { available = kilobytes * 1024 }
        }
        return (total, available)
    }

    private static func loadAverages() -> [Double] {
        let fields = read("/proc/loadavg")?.split(separator: " ") ?? []
        return fields.prefix(3).compactMap { Double($0) }
    }

    private static let diskTypes: Set<String> = [
        "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "f2fs", "zfs", "overlay",
    ]

    private static func filesystems() -> [StatsResponse.Filesystem] {
        var seen: Set<String> = []
        var result: [StatsResponse.Filesystem] = []
        for line in read("/proc/mounts")?.split(separator: "\n") ?? [] {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, diskTypes.contains(String(fields[2])) else { continue }
            let mountPoint = String(fields[1]).replacing("\\040", with: " ")
            guard seen.insert(mountPoint).inserted else { continue }
            var info = statvfs()
            guard statvfs(mountPoint, &info) == 0 else { continue }
            let blockSize = UInt64(info.f_frsize)
            let total = UInt64(info.f_blocks) * blockSize
            let free = UInt64(info.f_bfree) * blockSize
            result.append(
                StatsResponse.Filesystem(
                    mountPoint: mountPoint,
                    type: String(fields[2]),
                    totalBytes: total,
                    usedBytes: total - min(total, free),
                    availableBytes: UInt64(info.f_bavail) * blockSize
                )
            )
        }
        return result
    }

    private static func network() -> [StatsResponse.Network] {
        var result: [StatsResponse.Network] = []
        for line in read("/proc/net/dev")?.split(separator: "\n").dropFirst(2) ?? [] {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmed
            let fields = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", fields.count >= 9 else { continue }
            result.append(StatsResponse.Network(interface: name, receivedBytes: fields[0], sentBytes: fields[8]))
        }
        return result
    }

    /// Each unit's `ActiveState` and `MainPID` from one `systemctl show`; none when it fails.
    private static func unitStates(_ units: [String]) async -> [String: (active: String, pid: Int?)] {
        guard !units.isEmpty else { return [:] }
        var states: [String: (active: String, pid: Int?)] = [:]
        if let output = try? await JobProcess.output(
            of: ["systemctl", "show", "--property=Id,ActiveState,MainPID", "--"] + units,
            timeout: .seconds(5)
        ), output.termination == .exited(0) {
            // One block per unit, in argument order, separated by blank lines.
            let blocks = output.stdout.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            for (unit, block) in zip(units, blocks) {
                var active = "unknown"
                var pid: Int?
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("ActiveState=") { active = String(line.dropFirst("ActiveState=".count)) }
                    if line.hasPrefix("MainPID="), let value = Int(line.dropFirst("MainPID=".count)), value > 0 {
                        pid = value
                    }
                }
                states[unit] = (active, pid)
            }
        }
        return states
    }

    private mutating func unitStats(
        _ units: [String], states: [String: (active: String, pid: Int?)], now: Double
    ) -> [StatsResponse.Unit] {
        guard !units.isEmpty else { return [] }
        var seenPIDs: [Int: (ticks: UInt64, at: Double)] = [:]
        let result = units.map { unit -> StatsResponse.Unit in
            let state = states[unit] ?? ("unknown", nil)
            var cpu: Double?
            var rss: UInt64?
            if let pid = state.pid {
                if let ticks = Self.processTicks(pid) {
                    if let previous = previousProcessTicks[pid], now > previous.at, ticks >= previous.ticks {
                        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
                        cpu = Double(ticks - previous.ticks) / hertz / (now - previous.at) * 100
                    }
                    seenPIDs[pid] = (ticks, now)
                }
                rss = Self.processRSS(pid)
            }
            return StatsResponse.Unit(
                name: unit, activeState: state.active, mainPID: state.pid, cpuPercent: cpu, rssBytes: rss)
        }
        previousProcessTicks = seenPIDs
        return result
    }

    /// utime + stime of a process in clock ticks.
    package static func processTicks(_ pid: Int) -> UInt64? {
        guard let text = read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime field 14 and stime field 15 (1-based, whole line).
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// Resident set size of a process in bytes.
    package static func processRSS(_ pid: Int) -> UInt64? {
        for line in read("/proc/\(pid)/status")?.split(separator: "\n") ?? [] where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = UInt64(fields[1]) { return kilobytes * 1024 }
        }
        return nil
    }

    /// A whole file as text (a file of `/proc` too).
    package static func read(_ path: String) -> String? {
        FileDescriptorReader.readAll(path: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
