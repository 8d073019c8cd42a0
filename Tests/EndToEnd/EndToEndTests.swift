import Foundation
import Testing

/// What `Tests/run` hands the suite: the CLI under test, the static agent for the guest and a state directory.
enum EndToEnd {
    static let environment = ProcessInfo.processInfo.environment
    static let cli = environment["SOMNUS_E2E_CLI"] ?? ""
    static let agent = environment["SOMNUS_E2E_AGENT"] ?? ""
    static let stateDirectory = environment["SOMNUS_E2E_STATE"] ?? "/var/lib/somnus-e2e"
    static let vm = "e2e"
    static var configured: Bool { !cli.isEmpty && !agent.isEmpty }
}

/// The outcome of one `somnus` invocation.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the real `somnus` binary as a user would, with the suite's state directory.
func somnus(_ arguments: [String]) throws -> CLIResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: EndToEnd.cli)
    process.arguments = arguments + ["--state-dir", EndToEnd.stateDirectory]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so neither fills up and blocks the child.
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outputData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
    let result = CLIResult(
        status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
        stderr: String(decoding: errorData, as: UTF8.self))
    if !result.stderr.isEmpty {
        print(result.stderr.split(separator: "\n").map { "    | " + $0 }.joined(separator: "\n"))
    }
    return result
}

/// Runs one named step and prints how long it took.
func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
    let clock = ContinuousClock()
    let start = clock.now
    print("e2e step: \(name) …")
    let result = try body()
    print("e2e step: \(name) took \(clock.now - start)")
    return result
}

@Suite(
    "End to end on a real VM", .serialized,
    .enabled(if: EndToEnd.configured, "run by Tests/run, which builds the static agent and sets SOMNUS_E2E_*"))
struct EndToEndTests {
    @Test("boot, deploy over SSH, health through curl, exec, delete", .timeLimit(.minutes(45)))
    func chain() throws {
        let vm = EndToEnd.vm
        // A VM left by an interrupted run is removed first; a missing one is fine.
        _ = try somnus(["down", vm])

        let up = try step("1. boot → SSH deploy → /v1/health/ready through curl") {
            try somnus(["up", vm, "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(up.status == 0, "somnus up failed: \(up.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
        #expect(summary?["health"] as? String == "healthy")
        #expect((summary?["address"] as? String)?.isEmpty == false)
        print("e2e: boot to agent ready \(summary?["boot_to_ready_seconds"] ?? "?") s")
        guard up.status == 0 else { return }

        let health = try step("health sweep through the poller") { try somnus(["health", "--json"]) }
        #expect(health.status == 0)
        #expect(health.stdout.contains("\"healthy\""))

        let down = try step("9. delete leaves no domain, disk or inventory row") { try somnus(["down", vm]) }
        #expect(down.status == 0)
        let list = try somnus(["vm", "list", "--json"])
        #expect(!list.stdout.contains("\"\(vm)\""))
        #expect(!FileManager.default.fileExists(atPath: EndToEnd.stateDirectory + "/vms/" + vm))
        let show = try somnus(["vm", "show", vm])
        #expect(show.status == 2)
        #expect(show.stderr.contains("'\(vm)'"))
    }
}
