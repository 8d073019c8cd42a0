/// Body of `GET /v1/stats`: the latest sample of the agent's monitor.
public struct StatsResponse: Codable, Sendable, Equatable {
    /// Use of one mounted filesystem.
    public struct Filesystem: Codable, Sendable, Equatable {
        /// The mount point, such as `/`.
        public var mountPoint: String
        /// The filesystem type, such as `ext4`.
        public var type: String
        /// Total bytes.
        public var totalBytes: UInt64
        /// Bytes in use.
        public var usedBytes: UInt64
        /// Bytes available to unprivileged users.
        public var availableBytes: UInt64

        /// Creates a filesystem sample.
        public init(mountPoint: String, type: String, totalBytes: UInt64, usedBytes: UInt64, availableBytes: UInt64) {
            self.mountPoint = mountPoint
            self.type = type
            self.totalBytes = totalBytes
            self.usedBytes = usedBytes
            self.availableBytes = availableBytes
        }

        enum CodingKeys: String, CodingKey {
            case mountPoint = "mount_point"
            case type
            case totalBytes = "total_bytes"
            case usedBytes = "used_bytes"
            case availableBytes = "available_bytes"
        }
    }

    /// Traffic of one network interface since boot.
    public struct Network: Codable, Sendable, Equatable {
        /// The interface name, such as `eth0`.
        public var interface: String
        /// Bytes received.
        public var receivedBytes: UInt64
        /// Bytes sent.
        public var sentBytes: UInt64

        /// Creates a network sample.
        public init(interface: String, receivedBytes: UInt64, sentBytes: UInt64) {
            self.interface = interface
            self.receivedBytes = receivedBytes
            self.sentBytes = sentBytes
        }

        enum CodingKeys: String, CodingKey {
            case interface
            case receivedBytes = "received_bytes"
            case sentBytes = "sent_bytes"
        }
    }

    /// State and usage of one monitored systemd unit.
    public struct Unit: Codable, Sendable, Equatable {
        /// The unit name, such as `nginx.service`.
        public var name: String
        /// systemd's `ActiveState` (`active`, `failed`, …), or `unknown` when it could not be read.
        public var activeState: String
        /// The unit's main process, when it has one.
        public var mainPID: Int?
        /// CPU use of the main process since the previous sample, in percent of one CPU.
        public var cpuPercent: Double?
        /// Resident memory of the main process in bytes.
        public var rssBytes: UInt64?

        /// Creates a unit sample.
        public init(name: String, activeState: String, mainPID: Int?, cpuPercent: Double?, rssBytes: UInt64?) {
            self.name = name
            self.activeState = activeState
            self.mainPID = mainPID
            self.cpuPercent = cpuPercent
            self.rssBytes = rssBytes
        }

        enum CodingKeys: String, CodingKey {
            case name
            case activeState = "active_state"
            case mainPID = "main_pid"
            case cpuPercent = "cpu_percent"
            case rssBytes = "rss_bytes"
        }
    }

    /// Seconds since the Unix epoch when the sample was taken.
    public var timestamp: Double
    /// CPU use of the whole machine since the previous sample, in percent of all CPUs.
    public var cpuPercent: Double
    /// Online CPUs.
    public var cpuCount: Int
    /// `MemTotal` in bytes.
    public var memoryTotalBytes: UInt64
    /// `MemTotal - MemAvailable` in bytes.
    public var memoryUsedBytes: UInt64
    /// `MemAvailable` in bytes.
    public var memoryAvailableBytes: UInt64
    /// The 1, 5 and 15 minute load averages.
    public var loadAverages: [Double]
    /// Local, disk-backed filesystems.
    public var filesystems: [Filesystem]
    /// Interfaces other than loopback.
    public var network: [Network]
    /// The monitored units, in configuration order.
    public var units: [Unit]
    /// Error counts by category (classified log lines); empty until log classification lands.
    public var errorCounts: [String: Int]

    /// Creates a stats answer.
    public init(
        timestamp: Double,
        cpuPercent: Double,
        cpuCount: Int,
        memoryTotalBytes: UInt64,
        memoryUsedBytes: UInt64,
        memoryAvailableBytes: UInt64,
        loadAverages: [Double],
        filesystems: [Filesystem],
        network: [Network],
        units: [Unit],
        errorCounts: [String: Int]
    ) {
        self.timestamp = timestamp
        self.cpuPercent = cpuPercent
        self.cpuCount = cpuCount
        self.memoryTotalBytes = memoryTotalBytes
        self.memoryUsedBytes = memoryUsedBytes
        self.memoryAvailableBytes = memoryAvailableBytes
        self.loadAverages = loadAverages
        self.filesystems = filesystems
        self.network = network
        self.units = units
        self.errorCounts = errorCounts
    }

    enum CodingKeys: String, CodingKey {
        case timestamp
        case cpuPercent = "cpu_percent"
        case cpuCount = "cpu_count"
        case memoryTotalBytes = "memory_total_bytes"
        case memoryUsedBytes = "memory_used_bytes"
        case memoryAvailableBytes = "memory_available_bytes"
        case loadAverages = "load_averages"
        case filesystems
        case network
        case units
        case errorCounts = "error_counts"
    }
}
