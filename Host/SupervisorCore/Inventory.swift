import Foundation
import SQLite

/// The supervisor's SQLite inventory: VMs, snapshots, bounded health history and events.
///
/// One file under the state directory, in WAL mode, so the CLI and the daemon can use it at once.
/// SQLite's serialized mode makes the connection safe to share; every statement here is short.
public final class Inventory: Sendable {
    private let database: SQLiteDatabase
    private let healthHistoryLimit: Int

    private static var migrations: [SQLiteMigration] {
        [
            SQLiteMigration(
                sql: """
                    CREATE TABLE vms(
                        name TEXT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, profile TEXT NOT NULL,
                        accelerator TEXT NOT NULL, disk_path TEXT NOT NULL, console_log_path TEXT NOT NULL,
                        mac_address TEXT NOT NULL UNIQUE, address TEXT, agent_version TEXT, agent_sha256 TEXT,
                        created_at REAL NOT NULL);
                    CREATE TABLE snapshots(
                        vm TEXT NOT NULL REFERENCES vms(name) ON DELETE CASCADE, name TEXT NOT NULL,
                        description TEXT NOT NULL, quiesced INTEGER NOT NULL, quiesce_reason TEXT,
                        created_at REAL NOT NULL, PRIMARY KEY(vm, name));
                    CREATE TABLE health(
                        id INTEGER PRIMARY KEY, vm TEXT NOT NULL REFERENCES vms(name) ON DELETE CASCADE,
                        state TEXT NOT NULL, reason TEXT, detail TEXT, agent_version TEXT, observed_at REAL NOT NULL);
                    CREATE INDEX health_by_vm ON health(vm, id);
                    CREATE TABLE events(
                        id INTEGER PRIMARY KEY, vm TEXT, kind TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL);
                    """),
            SQLiteMigration(sql: "ALTER TABLE vms ADD COLUMN static_address TEXT"),
            SQLiteMigration(
                sql: """
                    ALTER TABLE vms ADD COLUMN domain TEXT;
                    ALTER TABLE vms ADD COLUMN pool_image TEXT;
                    """),
        ]
    }

    /// Opens (creating and migrating when needed) the inventory at `path`.
    /// - Parameters:
    ///   - path: The database file.
    ///   - healthHistoryLimit: Health samples kept per VM; older ones are deleted as new ones arrive.
    /// - Throws: ``SupervisorError/Code/inventory`` when the file cannot be opened or migrated.
    public init(path: String, healthHistoryLimit: Int = 100) throws(SupervisorError) {
        do {
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // 0600 from the first byte (an empty file is an empty database); SQLite gives its WAL and shared-memory
            // files the database file's mode.
            if !FileManager.default.fileExists(atPath: path) {
                try HostFiles.createExclusive(path, contents: [])
            }
            try HostFiles.narrow(path, to: 0o600)
            database = try SQLiteDatabase(path: path)
            _ = try database.migrate(Inventory.migrations)
        } catch {
            throw SupervisorError(.inventory, "cannot open the inventory at \(path)", cause: error)
        }
        self.healthHistoryLimit = max(1, healthHistoryLimit)
    }

    private func guarded<T>(_ what: String, _ body: () throws -> T) throws(SupervisorError) -> T {
        do {
            return try body()
        } catch {
            throw SupervisorError(.inventory, "inventory: cannot \(what)", cause: error)
        }
    }

    // MARK: VMs

    /// Adds a VM.
    /// - Throws: ``SupervisorError/Code/alreadyExists`` when the name is taken.
    public func insert(_ vm: VMRecord) throws(SupervisorError) {
        if try self.vm(named: vm.name) != nil {
            throw SupervisorError(.alreadyExists, "a VM named '\(vm.name)' already exists")
        }
        try guarded("add VM '\(vm.name)'") {
            _ = try database.query(
                """
                INSERT INTO vms(name, uuid, profile, accelerator, disk_path, console_log_path, mac_address, address,
                    static_address, agent_version, agent_sha256, created_at, domain, pool_image)
                VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """,
                [
                    .text(vm.name), .text(vm.uuid), .text(vm.profile), .text(vm.accelerator.rawValue),
                    .text(vm.diskPath), .text(vm.consoleLogPath), .text(vm.macAddress), .optionalText(vm.address),
                    .optionalText(vm.staticAddress), .optionalText(vm.agentVersion), .optionalText(vm.agentSHA256),
                    .real(vm.createdAt.timeIntervalSince1970), .text(vm.domain), .optionalText(vm.poolImage),
                ])
        }
    }

    /// Replaces the stored fields of an existing VM.
    public func update(_ vm: VMRecord) throws(SupervisorError) {
        try guarded("update VM '\(vm.name)'") {
            _ = try database.query(
                """
                UPDATE vms SET profile = ?, address = ?, static_address = ?, agent_version = ?, agent_sha256 = ?
                WHERE name = ?
                """,
                [
                    .text(vm.profile), .optionalText(vm.address), .optionalText(vm.staticAddress),
                    .optionalText(vm.agentVersion), .optionalText(vm.agentSHA256), .text(vm.name),
                ])
        }
    }

    /// The VM with this name (a user's or a pool VM), or `nil`.
    public func vm(named name: String) throws(SupervisorError) -> VMRecord? {
        try guarded("read VM '\(name)'") {
            try database.query("SELECT * FROM vms WHERE name = ?", [.text(name)]).first.map(Inventory.vmRecord)
        }
    }

    /// Every user's VM, by name; the warm pool's VMs are left out.
    public func allVMs() throws(SupervisorError) -> [VMRecord] {
        try guarded("list VMs") {
            try database.query("SELECT * FROM vms WHERE pool_image IS NULL ORDER BY name").map(Inventory.vmRecord)
        }
    }

    /// The VMs of the warm pool, oldest first.
    public func poolVMs() throws(SupervisorError) -> [VMRecord] {
        try guarded("list pool VMs") {
            try database.query("SELECT * FROM vms WHERE pool_image IS NOT NULL ORDER BY created_at, name").map(
                Inventory.vmRecord)
        }
    }

    /// Hands a pool VM to a user: renames its row to `name` (its domain keeps its name) and takes it out of the
    /// pool, dropping the health samples and events it gathered while parked.
    /// - Parameters:
    ///   - poolName: The pool VM.
    ///   - name: The user's name for it.
    /// - Returns: The renamed record, or `nil` when another process took that pool VM first.
    /// - Throws: ``SupervisorError/Code/alreadyExists`` when `name` is taken.
    public func adopt(poolVM poolName: String, as name: String) throws(SupervisorError) -> VMRecord? {
        if try vm(named: name) != nil {
            throw SupervisorError(.alreadyExists, "a VM named '\(name)' already exists")
        }
        try guarded("take pool VM '\(poolName)' as '\(name)'") {
            try database.transaction {
                guard
                    try !database.query(
                        "SELECT 1 FROM vms WHERE name = ? AND pool_image IS NOT NULL", [.text(poolName)]
                    ).isEmpty
                else { return }
                _ = try database.query("DELETE FROM health WHERE vm = ?", [.text(poolName)])
                _ = try database.query("DELETE FROM events WHERE vm = ?", [.text(poolName)])
                _ = try database.query(
                    "UPDATE vms SET name = ?, domain = COALESCE(domain, name), pool_image = NULL WHERE name = ?",
                    [.text(name), .text(poolName)])
            }
        }
        guard let record = try vm(named: name), record.domain == poolName else { return nil }
        return record
    }

    /// Deletes a VM and, through foreign keys, its snapshots and health rows.
    public func deleteVM(named name: String) throws(SupervisorError) {
        try guarded("delete VM '\(name)'") {
            _ = try database.query("DELETE FROM vms WHERE name = ?", [.text(name)])
        }
    }

    private static func vmRecord(_ row: SQLiteRow) -> VMRecord {
        VMRecord(
            name: row["name"]?.stringValue ?? "", uuid: row["uuid"]?.stringValue ?? "",
            profile: row["profile"]?.stringValue ?? "",
            accelerator: Accelerator(rawValue: row["accelerator"]?.stringValue ?? "") ?? .tcg,
            diskPath: row["disk_path"]?.stringValue ?? "", consoleLogPath: row["console_log_path"]?.stringValue ?? "",
            macAddress: row["mac_address"]?.stringValue ?? "", address: row["address"]?.stringValue,
            staticAddress: row["static_address"]?.stringValue,
            agentVersion: row["agent_version"]?.stringValue, agentSHA256: row["agent_sha256"]?.stringValue,
            createdAt: Date(timeIntervalSince1970: row["created_at"]?.doubleValue ?? 0),
            domain: row["domain"]?.stringValue, poolImage: row["pool_image"]?.stringValue)
    }

    /// Every MAC address in use, so a new VM never reuses one.
    public func macAddresses() throws(SupervisorError) -> Set<String> {
        try guarded("list MAC addresses") {
            Set(try database.query("SELECT mac_address FROM vms").compactMap { $0[0].stringValue })
        }
    }

    // MARK: Snapshots

    /// Records a snapshot.
    public func insert(_ snapshot: SnapshotRecord) throws(SupervisorError) {
        try guarded("record snapshot '\(snapshot.name)'") {
            _ = try database.query(
                """
                INSERT OR REPLACE INTO snapshots(vm, name, description, quiesced, quiesce_reason, created_at)
                VALUES(?,?,?,?,?,?)
                """,
                [
                    .text(snapshot.vm), .text(snapshot.name), .text(snapshot.description),
                    .int(snapshot.quiesced ? 1 : 0), .optionalText(snapshot.quiesceReason),
                    .real(snapshot.createdAt.timeIntervalSince1970),
                ])
        }
    }

    /// The snapshots of a VM, oldest first.
    public func snapshots(of vm: String) throws(SupervisorError) -> [SnapshotRecord] {
        try guarded("list snapshots of '\(vm)'") {
            try database.query("SELECT * FROM snapshots WHERE vm = ? ORDER BY created_at, name", [.text(vm)]).map {
                row in
                SnapshotRecord(
                    vm: vm, name: row["name"]?.stringValue ?? "", description: row["description"]?.stringValue ?? "",
                    quiesced: row["quiesced"]?.intValue == 1, quiesceReason: row["quiesce_reason"]?.stringValue,
                    createdAt: Date(timeIntervalSince1970: row["created_at"]?.doubleValue ?? 0))
            }
        }
    }

    /// Forgets a snapshot.
    public func deleteSnapshot(vm: String, name: String) throws(SupervisorError) {
        try guarded("delete snapshot '\(name)'") {
            _ = try database.query("DELETE FROM snapshots WHERE vm = ? AND name = ?", [.text(vm), .text(name)])
        }
    }

    // MARK: Health and events

    /// Appends a health sample, keeping at most the configured number per VM.
    public func record(_ health: AgentHealth) throws(SupervisorError) {
        try guarded("record health of '\(health.vm)'") {
            try database.transaction {
                _ = try database.query(
                    """
                    INSERT INTO health(vm, state, reason, detail, agent_version, observed_at) VALUES(?,?,?,?,?,?)
                    """,
                    [
                        .text(health.vm), .text(health.state.rawValue), .optionalText(health.reason?.rawValue),
                        .optionalText(health.detail), .optionalText(health.agentVersion),
                        .real(health.observedAt.timeIntervalSince1970),
                    ])
                _ = try database.query(
                    """
                    DELETE FROM health WHERE vm = ? AND id NOT IN
                        (SELECT id FROM health WHERE vm = ? ORDER BY id DESC LIMIT ?)
                    """, [.text(health.vm), .text(health.vm), .int(healthHistoryLimit)])
            }
        }
    }

    /// The newest health samples of a VM, newest first.
    public func healthHistory(of vm: String, limit: Int = 100) throws(SupervisorError) -> [AgentHealth] {
        try guarded("read health of '\(vm)'") {
            try database.query(
                "SELECT * FROM health WHERE vm = ? ORDER BY id DESC LIMIT ?", [.text(vm), .int(limit)]
            ).map { row in
                AgentHealth(
                    vm: vm, state: AgentHealth.State(rawValue: row["state"]?.stringValue ?? "") ?? .unreachable,
                    reason: row["reason"]?.stringValue.flatMap(AgentHealth.Reason.init(rawValue:)),
                    detail: row["detail"]?.stringValue, agentVersion: row["agent_version"]?.stringValue,
                    observedAt: Date(timeIntervalSince1970: row["observed_at"]?.doubleValue ?? 0))
            }
        }
    }

    /// Appends an event such as a health change or a reconcile finding.
    public func recordEvent(vm: String?, kind: String, message: String) throws(SupervisorError) {
        try guarded("record an event") {
            _ = try database.query(
                "INSERT INTO events(vm, kind, message, at) VALUES(?,?,?,?)",
                [.optionalText(vm), .text(kind), .text(message), .real(Date().timeIntervalSince1970)])
            _ = try database.query("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - 10000")
        }
    }
}

extension SQLiteValue {
    fileprivate static func optionalText(_ value: String?) -> SQLiteValue {
        value.map(SQLiteValue.text) ?? .null
    }
}
