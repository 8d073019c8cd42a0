import Foundation
import Libvirt
public import Logging
public import ServiceLifecycle

/// One difference between the inventory and libvirt.
public struct ReconcileFinding: Codable, Sendable, Equatable {
    /// What kind of difference it is.
    public enum Kind: String, Codable, Sendable {
        /// The inventory has a VM that libvirt has no domain for.
        case missingDomain = "missing_domain"
        /// libvirt has a domain that looks like Somnus's but the inventory has no row for it.
        case unknownDomain = "unknown_domain"
    }

    /// The kind of difference.
    public var kind: Kind
    /// The VM or domain name.
    public var name: String

    /// Creates a finding.
    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }
}

/// Compares the inventory with libvirt at start-up and periodically; libvirt wins for runtime state, and
/// differences are reported as events, never silently deleted.
public struct Reconciler: Service {
    let manager: VMManager
    let logger: Logger
    let interval: Duration

    /// Creates a reconciler.
    public init(manager: VMManager, logger: Logger, interval: Duration = .seconds(60)) {
        self.manager = manager
        self.logger = logger
        self.interval = interval
    }

    /// Compares once.
    /// - Returns: Every difference found.
    public func reconcile() async throws(SupervisorError) -> [ReconcileFinding] {
        let records = try manager.inventory.allVMs() + manager.inventory.poolVMs()
        let domains = try await manager.domainNames()
        let known = Set(records.map(\.domain))
        let present = Set(domains)
        var findings = records.filter { !present.contains($0.domain) }.map {
            ReconcileFinding(kind: .missingDomain, name: $0.name)
        }
        let vmDirectory = manager.layout.vmDirectory("")
        for domain in domains.sorted() where !known.contains(domain) {
            if FileManager.default.fileExists(atPath: vmDirectory + domain) {
                findings.append(ReconcileFinding(kind: .unknownDomain, name: domain))
            }
        }
        for finding in findings {
            logger.warning(
                "inventory and libvirt disagree",
                metadata: ["vm.name": "\(finding.name)", "finding": "\(finding.kind)"])
            try manager.inventory.recordEvent(vm: finding.name, kind: "reconcile", message: finding.kind.rawValue)
        }
        return findings
    }

    /// Reconciles at start and then every interval until graceful shutdown.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await reconcile()
            } catch {
                logger.error("reconcile failed", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
