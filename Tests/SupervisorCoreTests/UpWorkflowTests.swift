import Foundation
import Logging
import SupervisorCore
import Synchronization
import Testing

@Suite("somnus up as a SupervisorCore workflow")
struct UpWorkflowTests {
    /// An `Images` recipe whose build script only reports that the image (the test host's tiny one) is current.
    private static func recipe(in root: URL) throws -> String {
        let directory = root.appendingPathComponent("recipe")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("echo \"image current: $1\"\n".utf8).write(to: directory.appendingPathComponent("build-image.sh"))
        return directory.path
    }

    @Test("a deadline that passes before any lease names the console log")
    func leaseTimeout() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let error = await #expect(throws: SupervisorError.self) {
            try await UpWorkflow.waitForLease(manager: host.manager, name: "late", deadline: .zero)
        }
        #expect(error?.code == .timeout)
        #expect(error?.message == "'late' got no DHCP lease within 0.0 seconds; see `somnus vm console-log late`")
    }

    /// libvirt's test driver has no DHCP server, so this one runs on the host's libvirtd, where the VM is defined
    /// and never started.
    @Test("a VM that is not running stops the wait at once", .timeLimit(.minutes(1)))
    func stoppedWhileBooting() async throws {
        let host = try await TestHost.make(uri: "qemu:///system")
        defer { host.cleanUp() }
        let name = uniqueName("up")
        _ = try await host.manager.create(name: name, profileName: "small")
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: SupervisorError.self) {
            try await UpWorkflow.waitForLease(manager: host.manager, name: name, deadline: .seconds(30))
        }
        try await host.manager.delete(name: name)
        #expect(clock.now - started < .seconds(10))
        #expect(error?.code == .invalidState)
        #expect(error?.message == "'\(name)' stopped while booting; see `somnus vm console-log \(name)`")
    }

    /// On libvirt's test driver the domain "runs" without booting anything; the driver has no DHCP server, so the
    /// workflow stops at the lease, after every earlier step.
    @Test(
        "run builds the image, creates and starts the VM, then reads the leases, reporting each step",
        .timeLimit(.minutes(1)))
    func runUntilTheLease() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("up")
        let steps = Mutex<[UpWorkflow.Progress]>([])
        let workflow = UpWorkflow(manager: host.manager, logger: Logger(label: "up-test"))
        let error = await #expect(throws: SupervisorError.self) {
            try await workflow.run(
                UpWorkflow.Request(
                    name: name, profile: "small", recipe: try Self.recipe(in: host.root),
                    agentBinary: "/nonexistent/somnus-agent", bootTimeout: .milliseconds(500))
            ) { step in steps.withLock { $0.append(step) } }
        }
        #expect(error?.message == "cannot read DHCP leases of 'somnus'")
        let imageDirectory = host.manager.layout.baseImageDirectory
        #expect(
            steps.withLock { $0 } == [
                .imageLine("image current: \(imageDirectory)"), .imageReady(bytes: nil), .created(name),
                .starting(name), .booting(name),
            ])
        #expect(try await host.manager.isRunning(name: name))
        #expect(FileManager.default.fileExists(atPath: host.manager.layout.sshKeyPath))
        try await host.manager.delete(name: name)
    }
}
