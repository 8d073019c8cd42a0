import Foundation
import Libvirt
import SupervisorCore
import Testing

@Suite("vm list's memory is the configured one, not the live balloon")
struct VMStatusMemoryTests {
    @Test("a running VM whose balloon reads otherwise still shows its profile's memory")
    func configuredNotBalloon() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("mem")
        _ = try await host.manager.create(name: name, profileName: "small")
        try await host.manager.start(name: name)
        // The balloon moves on its own while a guest boots; here it is moved by hand, live only.
        try VirConnection(uri: "test:///default").lookupDomain(name: name).setMemory(
            kibibytes: 1_000_000, flags: .live)
        let live = try VirConnection(uri: "test:///default").lookupDomain(name: name).info().memoryKiB / 1024
        #expect(live == 976)
        let status = try await host.manager.status(name: name)
        #expect(status.memoryMiB == 2048)
        #expect(try await host.manager.list().first { $0.record.name == name }?.memoryMiB == 2048)
        try await host.manager.delete(name: name)
    }
}
