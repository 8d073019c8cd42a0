import Foundation
import Libvirt
import Logging

extension VMManager {
    /// Takes an internal snapshot (disk and, for a running VM, memory) and records it with its quiesce outcome.
    ///
    /// - Parameters:
    ///   - vm: The VM.
    ///   - name: The snapshot's name; generated from the time when `nil`.
    ///   - description: Free text, escaped into the snapshot XML.
    ///   - quiesce: Freezes the guest's filesystems around the snapshot and thaws them after; `nil` when there
    ///     is no agent to ask. Its result says whether the freeze happened and, if not, why.
    /// - Returns: The stored record.
    public func createSnapshot(
        vm: String, name: String? = nil, description: String = "",
        quiesce: (@Sendable () async -> QuiesceOutcome)? = nil,
        thaw: (@Sendable () async -> Void)? = nil
    ) async throws(SupervisorError) -> SnapshotRecord {
        let domainName = try record(vm).domain
        try await refuseIfSuspended(vm, "taking a snapshot")
        let snapshotName = name ?? "snap-\(Int(Date().timeIntervalSince1970))"
        try SnapshotRecord.validate(name: snapshotName)
        if try inventory.snapshots(of: vm).contains(where: { $0.name == snapshotName }) {
            throw SupervisorError(.alreadyExists, "'\(vm)' already has a snapshot named '\(snapshotName)'")
        }
        let outcome = await quiesce?() ?? QuiesceOutcome(quiesced: false, reason: "no agent to freeze filesystems")
        let xml = XMLElement(
            "domainsnapshot", [],
            [XMLElement("name", text: snapshotName), XMLElement("description", text: description)]
        ).render()
        let result: Result<Void, SupervisorError>
        do {
            try await libvirt("snapshot '\(vm)'", vm: vm) { connection in
                _ = try connection.lookupDomain(name: domainName).createSnapshot(xml: xml)
            }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        if outcome.quiesced {
            await thaw?()
        }
        try result.get()
        let snapshot = SnapshotRecord(
            vm: vm, name: snapshotName, description: description, quiesced: outcome.quiesced,
            quiesceReason: outcome.reason)
        try inventory.insert(snapshot)
        logger.info(
            "snapshot created",
            metadata: [
                "vm.name": "\(vm)", "snapshot.name": "\(snapshotName)", "snapshot.quiesced": "\(outcome.quiesced)",
            ])
        return snapshot
    }

    /// The snapshots of a VM as the inventory recorded them.
    public func snapshots(vm: String) throws(SupervisorError) -> [SnapshotRecord] {
        _ = try record(vm)
        return try inventory.snapshots(of: vm)
    }

    /// Reverts a VM to a snapshot.
    /// - Throws: ``SupervisorError/Code/notFound`` naming the snapshot when it does not exist.
    public func revertSnapshot(vm: String, name: String) async throws(SupervisorError) {
        try requireSnapshot(vm: vm, name: name)
        try await refuseIfSuspended(vm, "reverting it to a snapshot")
        let domainName = try record(vm).domain
        try await libvirt("revert '\(vm)' to '\(name)'", vm: vm) { connection in
            let domain = try connection.lookupDomain(name: domainName)
            try domain.revert(to: domain.lookupSnapshot(name: name))
        }
        logger.info("snapshot reverted", metadata: ["vm.name": "\(vm)", "snapshot.name": "\(name)"])
    }

    /// Deletes a snapshot from libvirt and the inventory.
    public func deleteSnapshot(vm: String, name: String) async throws(SupervisorError) {
        try requireSnapshot(vm: vm, name: name)
        let domainName = try record(vm).domain
        try await libvirt("delete snapshot '\(name)' of '\(vm)'", vm: vm) { connection in
            try connection.lookupDomain(name: domainName).lookupSnapshot(name: name).delete()
        }
        try inventory.deleteSnapshot(vm: vm, name: name)
    }

    private func requireSnapshot(vm: String, name: String) throws(SupervisorError) {
        _ = try record(vm)
        guard try inventory.snapshots(of: vm).contains(where: { $0.name == name }) else {
            throw SupervisorError(
                .notFound, "'\(vm)' has no snapshot named '\(name)' (see `somnus snapshot list \(vm)`)")
        }
    }
}

/// Whether the guest's filesystems were frozen for a snapshot, and why not when they were not.
public struct QuiesceOutcome: Sendable, Equatable {
    /// Whether the freeze happened.
    public var quiesced: Bool
    /// Why not, when it did not.
    public var reason: String?

    /// Creates an outcome.
    public init(quiesced: Bool, reason: String?) {
        self.quiesced = quiesced
        self.reason = reason
    }
}

extension SnapshotRecord {
    /// Checks a snapshot name: 1–64 letters, digits, `-`, `_` or `.`.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the bad name.
    public static func validate(name: String) throws(SupervisorError) {
        let ok = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= 64, ok, name.first != "." else {
            throw SupervisorError(
                .invalidArgument, "invalid snapshot name '\(name)': use 1-64 letters, digits, '-', '_' or '.'")
        }
    }
}
