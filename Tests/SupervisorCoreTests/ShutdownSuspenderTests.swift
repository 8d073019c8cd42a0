import Logging
import ServiceLifecycle
import SupervisorCore
import Testing

@Suite("The daemon's suspend on exit, on libvirt's test driver")
struct ShutdownSuspenderTests {
    @Test("a graceful shutdown suspends the running VMs and leaves shut off ones alone")
    func suspendsRunning() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let running = uniqueName("run")
        let off = uniqueName("off")
        _ = try await host.manager.create(name: running)
        _ = try await host.manager.create(name: off)
        try await host.manager.start(name: running)

        let logger = Logger(label: "test")
        let group = ServiceGroup(
            services: [ShutdownSuspender(manager: host.manager, logger: logger)], gracefulShutdownSignals: [],
            logger: logger)
        async let ran: Void = group.run()
        await group.triggerGracefulShutdown()
        try await ran

        #expect(try await host.manager.isSuspended(name: running))
        #expect(try await host.manager.status(name: off).state == "shut off")
        #expect(await ShutdownSuspender(manager: host.manager, logger: logger).suspendRunning().isEmpty)
    }
}
