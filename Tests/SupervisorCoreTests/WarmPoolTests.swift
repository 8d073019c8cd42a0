import Curl
import Foundation
import Libvirt
import Logging
import SupervisorCore
import Testing

@Suite("Warm pool bookkeeping on libvirt's test driver")
struct WarmPoolTests {
    static let curl: CurlClient? = try? CurlClient()

    private func pool(_ host: TestHost) throws -> WarmPool {
        let curl = try #require(Self.curl)
        return WarmPool(
            manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl),
            logger: Logger(label: "test"))
    }

    /// A parked pool VM of `image`: created, started and suspended on the test driver, as a fill leaves it.
    private func parked(_ host: TestHost, image: String) async throws -> String {
        let name = uniqueName(VMRecord.poolPrefix + "t")
        _ = try await host.manager.create(name: name, poolImage: image)
        try await host.manager.start(name: name)
        try await host.manager.suspend(name: name)
        return name
    }

    @Test("pool VMs stay out of the users' list and their names out of users' reach")
    func hidden() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let user = uniqueName("user")
        _ = try await host.manager.create(name: user)
        let pooled = try await parked(host, image: "img")
        #expect(try await host.manager.list().map(\.record.name) == [user])
        #expect(try host.manager.inventory.poolVMs().map(\.name) == [pooled])
        let refused = await #expect(throws: SupervisorError.self) {
            try await host.manager.create(name: VMRecord.poolPrefix + "mine")
        }
        #expect(refused?.code == .invalidArgument)
        #expect(refused?.message.contains("warm pool") == true)
        let unprefixed = await #expect(throws: SupervisorError.self) {
            try await host.manager.create(name: uniqueName("plain"), poolImage: "img")
        }
        #expect(unprefixed?.code == .invalidArgument)
        #expect(try await Reconciler(manager: host.manager, logger: Logger(label: "test")).reconcile().isEmpty)
    }

    @Test("take hands out the oldest parked VM of the current image under the user's name, once")
    func take() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let pool = try pool(host)
        let outdated = try await parked(host, image: "old")
        let first = try await parked(host, image: "new")
        let second = try await parked(host, image: "new")
        let building = uniqueName(VMRecord.poolPrefix + "b")
        _ = try await host.manager.create(name: building, poolImage: "new")

        #expect(try await pool.take(as: "alpha", image: "none") == nil)
        let taken = try #require(try await pool.take(as: "alpha", image: "new"))
        #expect(taken.name == "alpha")
        #expect(taken.domain == first)
        #expect(taken.poolImage == nil)
        #expect(try await host.manager.status(name: "alpha").state == VMStatus.suspended)
        #expect(try host.manager.inventory.vm(named: first) == nil)

        let again = try #require(try await pool.take(as: "beta", image: "new"))
        #expect(again.domain == second)
        // Neither the outdated VM nor one still being made (not parked) is ever handed out.
        #expect(try await pool.take(as: "gamma", image: "new") == nil)
        #expect(try await pool.take(as: "gamma", image: "old")?.domain == outdated)

        let taken2 = await #expect(throws: SupervisorError.self) { try await pool.take(as: "alpha", image: "new") }
        #expect(taken2?.code == .alreadyExists)

        // The adopted VM is a user's VM in every way: it starts (restoring its memory), lists and deletes.
        try await host.manager.start(name: "alpha")
        #expect(try await host.manager.status(name: "alpha").state == "running")
        #expect(Set(try await host.manager.list().map(\.record.name)) == ["alpha", "beta", "gamma"])
        #expect(try await Reconciler(manager: host.manager, logger: Logger(label: "test")).reconcile().isEmpty)
        try await host.manager.stop(name: "alpha", deadline: .seconds(5))
        try await host.manager.delete(name: "alpha")
        #expect(!FileManager.default.fileExists(atPath: host.manager.layout.vmDirectory(first)))
        #expect(try VirConnection(uri: "test:///default").listAllDomains().allSatisfy { try $0.name() != first })
    }

    @Test("a VM taken from the pool keeps its credentials: the agent is reached with the token of its directory")
    func credentialsFollow() async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let pool = try pool(host)
        let pooled = try await parked(host, image: "img")
        try await RealAgent.with(token: "pooltoken") { address in
            try attachAgent(host, vm: pooled, address: address, token: "pooltoken")
            _ = try #require(try await pool.take(as: "delta", image: "img"))
            let curl = try #require(Self.curl)
            let report = try await SuspendCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl)
            ).resume(vm: "delta")
            #expect(report.agentReady)
            #expect(try await host.manager.isRunning(name: "delta"))
        }
    }

    @Test("status counts ready VMs; removing unusable ones drains outdated and unparked VMs; drain empties it")
    func statusAndDrain() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let pool = try pool(host)
        try pool.store(PoolSettings(size: 2, profile: "idle"))
        #expect(try pool.settings() == PoolSettings(size: 2, profile: "idle"))
        let outdated = try await parked(host, image: "old")
        let current = try await parked(host, image: "new")
        let leftover = uniqueName(VMRecord.poolPrefix + "l")
        _ = try await host.manager.create(name: leftover, poolImage: "new")

        let status = try await pool.status(currentImage: "new")
        #expect(status.ready == 1)
        #expect(status.vms.map(\.name) == [outdated, current, leftover])
        #expect(status.vms.map(\.current) == [false, true, true])
        #expect(status.vms.map(\.state) == [VMStatus.suspended, VMStatus.suspended, "shut off"])
        #expect(status.vms.allSatisfy { $0.diskBytes != nil })

        let bad = #expect(throws: SupervisorError.self) { try pool.store(PoolSettings(size: -1)) }
        #expect(bad?.code == .invalidArgument)
        let unknown = #expect(throws: SupervisorError.self) { try pool.store(PoolSettings(size: 1, profile: "nosuch")) }
        #expect(unknown?.code == .notFound)

        // A fill's first step: the outdated VM and the one an interrupted fill left go; the current one stays,
        // and with a size of 1 none is made.
        try pool.store(PoolSettings(size: 1, profile: "idle"))
        let made = try await pool.fill(image: "new", agentBinary: "/nonexistent", wait: false)
        #expect(made.isEmpty)
        #expect(try host.manager.inventory.poolVMs().map(\.name) == [current])
        #expect(!FileManager.default.fileExists(atPath: host.manager.layout.vmDirectory(outdated)))

        let drained = try await pool.drain()
        #expect(drained == [current])
        #expect(try host.manager.inventory.poolVMs().isEmpty)
        #expect(try pool.settings().size == 0)
    }
}
