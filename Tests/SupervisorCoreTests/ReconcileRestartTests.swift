import Foundation
import Libvirt
import Logging
import SupervisorCore
import Testing

@Suite("Reconcile after a supervisor restart on libvirt's test driver")
struct ReconcileRestartTests {
    @Test("a new supervisor on the same state dir sees libvirt's runtime state and reports strays, deleting nothing")
    func restart() async throws {
        let first = try await TestHost.make()
        defer { first.cleanUp() }
        let running = uniqueName("run")
        let idle = uniqueName("idle")
        _ = try await first.manager.create(name: running)
        _ = try await first.manager.create(name: idle)
        try await first.manager.start(name: running)

        // The supervisor restarts: a new manager opens the same inventory; meanwhile someone defined a stray
        // domain in its VM directory and one VM's domain was lost.
        let lost = uniqueName("lost")
        _ = try await first.manager.create(name: lost)
        try VirConnection(uri: "test:///default").lookupDomain(name: lost).undefineRemovingMetadata()
        let stray = uniqueName("stray")
        try FileManager.default.createDirectory(
            atPath: first.manager.layout.vmDirectory(stray), withIntermediateDirectories: true)
        let xml = "<domain type='test'><name>\(stray)</name><memory>1024</memory><os><type>hvm</type></os></domain>"
        _ = try VirConnection(uri: "test:///default").defineDomain(xml: xml)

        let second = try await TestHost.make(root: first.root)
        let findings = try await Reconciler(manager: second.manager, logger: Logger(label: "test")).reconcile()
        #expect(findings.contains(ReconcileFinding(kind: .missingDomain, name: lost)))
        #expect(findings.contains(ReconcileFinding(kind: .unknownDomain, name: stray)))
        #expect(!findings.contains { $0.name == running || $0.name == idle })
        let states = Dictionary(
            uniqueKeysWithValues: try await second.manager.list().map { ($0.record.name, $0.state) })
        #expect(states[running] == "running")
        #expect(states[idle] == "shut off")
        #expect(states[lost] == "missing")
        // Nothing was deleted on either side.
        #expect(try second.manager.inventory.vm(named: lost) != nil)
        #expect(try VirConnection(uri: "test:///default").lookupDomain(name: stray).name() == stray)
        try VirConnection(uri: "test:///default").lookupDomain(name: stray).undefineRemovingMetadata()
    }
}
