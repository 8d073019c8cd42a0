import AgentAPI
import AgentBasics
import AgentJobs
import AgentSystem
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing

@testable import AgentCore

/// A freezer over a fixed list of mount points that only records calls (nothing on the host is frozen); like the
/// kernel, it refuses (`EINVAL`) to thaw what is not frozen, and records only the thaws that happened.
final class RecordingFreezer: FilesystemFreezer {
    let mounts: [String]
    let failing: String?
    private let calls = Mutex<[String]>([])
    private let frozen: Mutex<Set<String>>

    init(mounts: [String], failing: String? = nil, frozen: Set<String> = []) {
        self.mounts = mounts
        self.failing = failing
        self.frozen = Mutex(frozen)
    }

    /// Whether a mount point is frozen now.
    func isFrozen(_ mountPoint: String) -> Bool { frozen.withLock { $0.contains(mountPoint) } }

    /// `freeze X` and `thaw X` in call order.
    var log: [String] { calls.withLock { $0 } }

    func mountPoints() throws(AgentError) -> [String] { mounts }

    func freeze(_ mountPoint: String) throws(AgentError) {
        if mountPoint == failing { throw AgentError(.io, "cannot freeze \(mountPoint): Device or resource busy") }
        frozen.withLock { _ = $0.insert(mountPoint) }
        calls.withLock { $0.append("freeze \(mountPoint)") }
    }

    /// Like the real freezer: tries every mount point, keeps those that were frozen.
    func thawAll() -> [String] {
        mounts.reversed().filter { (try? thaw($0)) != nil }
    }

    func thaw(_ mountPoint: String) throws(AgentError) {
        guard frozen.withLock({ $0.remove(mountPoint) }) != nil else {
            throw AgentError(.io, "cannot thaw \(mountPoint): Invalid argument")
        }
        calls.withLock { $0.append("thaw \(mountPoint)") }
    }
}

@Suite("Agent events", .timeLimit(.minutes(2)))
struct AgentEventTests {
    @Test("The ring keeps the newest events and the cursor keeps increasing")
    func ring() {
        let log = AgentEventLog(capacity: 3)
        for index in 1...5 { log.record("k", "event \(index)") }
        let all = log.events(after: 0, limit: 100)
        #expect(all.events.map(\.cursor) == [3, 4, 5])
        #expect(all.nextCursor == 5)
        #expect(log.events(after: 3, limit: 1).events.map(\.message) == ["event 4"])
        #expect(log.events(after: 5, limit: 10) == EventsResponse(events: [], nextCursor: 5))
    }

    @Test("GET /v1/events lists agent start and finished jobs after a cursor")
    func overHTTP() async throws {
        try await AgentHarness.with { agent in
            let first = try await agent.get(AgentRoute.events, as: EventsResponse.self)
            let started = try #require(first.events.first)
            #expect(started.kind == AgentEventKind.agentStarted)
            #expect(started.cursor == 1)
            let id = try await agent.startJob(ExecRequest(argv: ["true"]))
            _ = try await agent.waitForJob(id)
            var finished: AgentEvent?
            for _ in 0..<50 where finished == nil {
                let next = try await agent.get(
                    "\(AgentRoute.events)?after=\(first.nextCursor)&limit=10", as: EventsResponse.self)
                finished = next.events.first { $0.kind == AgentEventKind.jobFinished }
                if finished == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let event = try #require(finished)
            #expect(event.metadata["job_id"] == id)
            #expect(event.metadata["state"] == "exited")
            #expect(event.metadata["exit_code"] == "0")
            #expect(event.cursor > first.nextCursor)
        }
    }

    @Test("Bad after and limit values are 400 naming the parameter")
    func badQuery() async throws {
        try await AgentHarness.with { agent in
            let limit = try await agent.request(.get, "\(AgentRoute.events)?limit=0")
            #expect(limit.status == .badRequest)
            #expect(try limit.error().message == "limit: must be an integer from 1 to 1000, not '0'")
            let after = try await agent.request(.get, "\(AgentRoute.events)?after=x")
            #expect(after.status == .badRequest)
            #expect(try after.error().message.hasPrefix("after: must be an integer"))
        }
    }
}

@Suite("Agent clock push", .timeLimit(.minutes(2)))
struct TimeSyncTests {
    @Test("A drift under the threshold is reported and not corrected (the harness's threshold is an hour)")
    func smallDrift() async throws {
        try await AgentHarness.with { agent in
            let now = Int(Date().timeIntervalSince1970 * 1e9)
            let body = try JSONEncoder().encode(TimeSyncRequest(unixNanoseconds: now))
            let reply = try await agent.request(.post, AgentRoute.time, body: body)
            #expect(reply.status == .ok)
            let answer = try reply.decode(TimeSyncResponse.self)
            #expect(!answer.corrected)
            #expect(abs(answer.driftMilliseconds) < 60_000)
        }
    }

    @Test("An out-of-range or missing unix_ns is 400 naming the field")
    func validation() async throws {
        try await AgentHarness.with { agent in
            let early = try await agent.request(.post, AgentRoute.time, body: Data(#"{"unix_ns":5}"#.utf8))
            #expect(early.status == .badRequest)
            #expect(try early.error().message.hasPrefix("unix_ns: must be from 946684800000000000 to"))
            #expect(try early.error().message.hasSuffix("not 5"))
            let missing = try await agent.request(.post, AgentRoute.time, body: Data("{}".utf8))
            #expect(missing.status == .badRequest)
            #expect(try missing.error().message == "unix_ns: is required")
        }
    }
}

@Suite("Filesystem freeze", .timeLimit(.minutes(2)))
struct FreezeTests {
    @Test("Freeze, freeze again (409), thaw in reverse order, thaw again (empty)")
    func stateMachine() async throws {
        let freezer = RecordingFreezer(mounts: ["/srv/data", "/"])
        try await AgentHarness.with(maintenance: AgentMaintenanceOptions(freezer: freezer)) { agent in
            let body = try JSONEncoder().encode(FreezeRequest(timeoutSeconds: 60))
            let frozen = try await agent.request(.post, AgentRoute.fsFreeze, body: body)
            #expect(frozen.status == .ok)
            let answer = try frozen.decode(FreezeResponse.self)
            #expect(answer.frozen == ["/srv/data", "/"])
            #expect(answer.thawDeadline > Date().timeIntervalSince1970 + 50)
            let again = try await agent.request(.post, AgentRoute.fsFreeze, body: body)
            #expect(again.status == .conflict)
            #expect(
                try again.error() == .init(code: "conflict", message: "filesystems are already frozen; thaw them first")
            )
            let metrics = try await agent.request(.get, AgentRoute.metrics)
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("somnus_agent_fs_frozen 1\n"))
            let thawed = try await agent.request(.post, AgentRoute.fsThaw)
            #expect(try thawed.decode(ThawResponse.self) == ThawResponse(thawed: ["/", "/srv/data"]))
            let none = try await agent.request(.post, AgentRoute.fsThaw)
            #expect(none.status == .ok)
            #expect(try none.decode(ThawResponse.self) == ThawResponse(thawed: []))
            #expect(freezer.log == ["freeze /srv/data", "freeze /", "thaw /", "thaw /srv/data"])
        }
    }

    @Test("The deadline thaws on its own and records an event")
    func autoThaw() async throws {
        let freezer = RecordingFreezer(mounts: ["/"])
        try await JobRunnerService.withRunning { runner, _ in
            let state = FreezeState(freezer: freezer, events: AgentEventLog(), runner: runner)
            _ = try await state.freeze(timeout: .seconds(1))
            #expect(state.isFrozen)
            let deadline = ContinuousClock.now + .seconds(10)
            while state.events.events(after: 1, limit: 1).events.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!state.isFrozen)
            #expect(freezer.log == ["freeze /", "thaw /"])
            let kinds = state.events.events(after: 0, limit: 10).events.map(\.kind)
            #expect(kinds == [AgentEventKind.fsFrozen, AgentEventKind.fsThawed])
            #expect(state.events.events(after: 1, limit: 1).events.first?.metadata["reason"] == "deadline")
        }
    }

    @Test("An old deadline does not thaw a later freeze")
    func staleDeadline() async throws {
        let freezer = RecordingFreezer(mounts: ["/"])
        try await JobRunnerService.withRunning { runner, _ in
            let state = FreezeState(freezer: freezer, events: AgentEventLog(), runner: runner)
            _ = try await state.freeze(timeout: .seconds(1))
            #expect(await state.thaw().thawed == ["/"])
            _ = try await state.freeze(timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(1500))
            #expect(state.isFrozen)
            #expect(await state.thaw().thawed == ["/"])
        }
    }

    @Test("A failing mount point thaws the ones already frozen and reports the error")
    func partialFailure() async throws {
        let freezer = RecordingFreezer(mounts: ["/a", "/b"], failing: "/b")
        try await AgentHarness.with(maintenance: AgentMaintenanceOptions(freezer: freezer)) { agent in
            let body = try JSONEncoder().encode(FreezeRequest(timeoutSeconds: 5))
            let reply = try await agent.request(.post, AgentRoute.fsFreeze, body: body)
            #expect(reply.status == .internalServerError)
            #expect(try reply.error() == .init(code: "io_error", message: "cannot freeze /b: Device or resource busy"))
            #expect(freezer.log == ["freeze /a", "thaw /a"])
            let thaw = try await agent.request(.post, AgentRoute.fsThaw)
            #expect(try thaw.decode(ThawResponse.self).thawed.isEmpty)
        }
    }

    @Test("timeout_s outside 1...60 is 400 naming the field")
    func badTimeout() async throws {
        try await AgentHarness.with { agent in
            for value in [0, 61] {
                let body = try JSONEncoder().encode(FreezeRequest(timeoutSeconds: value))
                let reply = try await agent.request(.post, AgentRoute.fsFreeze, body: body)
                #expect(reply.status == .badRequest)
                #expect(try reply.error().message == "timeout_s: must be from 1 to 60, not \(value)")
            }
        }
    }

    @Test("The real freezer with an empty mount table freezes nothing; an unreadable one is a 500 naming it")
    func emptyMountTable() async throws {
        let table = FileManager.default.temporaryDirectory.appendingPathComponent("mounts-\(UUID().uuidString)")
        try Data().write(to: table)
        defer { try? FileManager.default.removeItem(at: table) }
        try await AgentHarness.with { agent in
            let body = try JSONEncoder().encode(FreezeRequest(timeoutSeconds: 1))
            let reply = try await agent.request(.post, AgentRoute.fsFreeze, body: body)
            #expect(reply.status == .internalServerError)
            #expect(
                try reply.error() == .init(code: "io_error", message: "cannot read the mount table /nonexistent/mounts")
            )
        }
        let options = AgentMaintenanceOptions(freezer: IoctlFilesystemFreezer(mountsFile: table.path))
        try await AgentHarness.with(maintenance: options) { agent in
            let body = try JSONEncoder().encode(FreezeRequest(timeoutSeconds: 1))
            let reply = try await agent.request(.post, AgentRoute.fsFreeze, body: body)
            #expect(try reply.decode(FreezeResponse.self).frozen.isEmpty)
            #expect(try await agent.request(.post, AgentRoute.fsThaw).decode(ThawResponse.self).thawed.isEmpty)
        }
    }

    @Test("The mount table parser keeps writable block filesystems only, deepest first")
    func parseMounts() {
        let table = """
            /dev/vda1 / ext4 rw,relatime 0 0
            proc /proc proc rw,nosuid 0 0
            sysfs /sys sysfs rw 0 0
            tmpfs /run tmpfs rw,nosuid 0 0
            /dev/vdb1 /srv/my\\040data xfs rw,noatime 0 0
            /dev/vdc1 /mnt/ro ext4 ro,relatime 0 0
            /dev/vda1 / ext4 rw,relatime 0 0
            """
        #expect(IoctlFilesystemFreezer.parseMounts(table) == ["/srv/my data", "/"])
    }

    @Test("The real freezer names an unreadable mount table and an unopenable mount point")
    func realFreezerErrors() {
        let missing = IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts")
        #expect(throws: AgentError.self) { try missing.mountPoints() }
        do {
            _ = try missing.mountPoints()
        } catch {
            #expect(error.message == "cannot read the mount table /nonexistent/mounts")
        }
        do {
            try missing.freeze("/nonexistent/mount")
            Issue.record("freeze of a missing directory succeeded")
        } catch {
            #expect(error.message == "cannot open /nonexistent/mount to freeze it: No such file or directory")
        }
    }
}

@Suite("Soft reboot", .timeLimit(.minutes(2)))
struct SoftRebootTests {
    /// Writes a `systemctl` stand-in: `restart` fails for `broken.service`, `show` reports `failed` for it and
    /// `active` for every other unit.
    static func fakeSystemctl(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("systemctl").path
        let script = """
            #!/bin/sh
            for unit; do :; done
            case "$1" in
            restart)
                if [ "$unit" = broken.service ]; then echo "Job for broken.service failed." >&2; exit 1; fi
                echo "$unit" >> "$(dirname "$0")/restarted"
                ;;
            show)
                if [ "$unit" = broken.service ]; then echo failed; else echo active; fi
                ;;
            *) exit 2 ;;
            esac
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test("Restarts every monitored unit by default and reports which came back active")
    func defaultUnits() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("systemctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let systemctl = try Self.fakeSystemctl(in: directory)
        try await AgentHarness.with(
            monitoredUnits: ["web.service", "broken.service"],
            maintenance: AgentMaintenanceOptions(systemctlPath: systemctl)
        ) { agent in
            let reply = try await agent.request(.post, AgentRoute.softReboot, body: Data("{}".utf8))
            #expect(reply.status == .ok)
            let units = try reply.decode(SoftRebootResponse.self).units
            #expect(units.count == 2)
            #expect(units.first == .init(name: "web.service", activeState: "active", active: true))
            let broken = try #require(units.last)
            #expect(broken.name == "broken.service")
            #expect(broken.activeState == "failed")
            #expect(!broken.active)
            #expect(
                broken.error == "systemctl restart broken.service failed (exited(1)): Job for broken.service failed.")
            let restarted = try String(contentsOf: directory.appendingPathComponent("restarted"), encoding: .utf8)
            #expect(restarted == "web.service\n")
        }
    }

    @Test("The agent's own unit, empty names and an empty list are 400")
    func refusals() async throws {
        try await AgentHarness.with { agent in
            let own = try await agent.request(
                .post, AgentRoute.softReboot,
                body: try JSONEncoder().encode(SoftRebootRequest(units: ["somnus-agent.service"])))
            #expect(own.status == .badRequest)
            #expect(try own.error().message == "units[0]: the agent never restarts itself (somnus-agent.service)")
            let empty = try await agent.request(
                .post, AgentRoute.softReboot, body: try JSONEncoder().encode(SoftRebootRequest(units: ["a", ""])))
            #expect(try empty.error().message == "units[1]: '' is not a unit name")
            let none = try await agent.request(.post, AgentRoute.softReboot, body: Data("{}".utf8))
            #expect(none.status == .badRequest)
            #expect(try none.error().message == "units: none given and no monitored_units configured")
        }
    }

    @Test("A missing systemctl is reported per unit, not as a 500")
    func missingSystemctl() async throws {
        try await AgentHarness.with { agent in
            let body = try JSONEncoder().encode(SoftRebootRequest(units: ["web.service"]))
            let reply = try await agent.request(.post, AgentRoute.softReboot, body: body)
            #expect(reply.status == .ok)
            let unit = try #require(try reply.decode(SoftRebootResponse.self).units.first)
            #expect(!unit.active)
            #expect(unit.activeState == "unknown")
            #expect(unit.error == "cannot start '/nonexistent/systemctl': No such file or directory")
        }
    }
}

@Suite("Metrics and OpenAPI", .timeLimit(.minutes(2)))
struct MetricsTests {
    @Test("GET /metrics has uptime, request counters by route and status, and job states")
    func metrics() async throws {
        try await AgentHarness.with { agent in
            _ = try await agent.get(AgentRoute.status, as: StatusResponse.self)
            _ = try await agent.request(.get, "/v1/nothing")
            let reply = try await agent.request(.get, AgentRoute.metrics)
            #expect(reply.status == .ok)
            let text = String(decoding: reply.body, as: UTF8.self)
            #expect(text.contains("# TYPE somnus_agent_uptime_seconds gauge\nsomnus_agent_uptime_seconds "))
            #expect(text.contains(#"somnus_agent_http_requests_total{method="GET",route="/v1/status",status="200"} 1"#))
            #expect(text.contains(#"route="unmatched",status="404"} 1"#))
            #expect(text.contains(#"somnus_agent_exec_jobs{state="running"} 0"#))
        }
    }

    @Test("The OpenAPI document's paths and methods equal the router's routes")
    func openAPIMatchesRouter() async throws {
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0), tokenFile: "/nonexistent/token",
            socketPath: "/nonexistent/agent.sock", dataDirectory: "/nonexistent/data")
        let router = try await JobRunnerService.withRunning { runner, _ in
            buildRouter(
                state: AgentState(configuration: configuration, jobs: ExecJobTable(runner: runner)), listener: .tcp)
        }
        let routes = Set(
            router.routes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }
                return "\(route.method.rawValue) /\(path.joined(separator: "/"))"
            })
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(AgentOpenAPI.document.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, methods in methods.keys.map { "\($0.uppercased()) \(path)" } })
        #expect(documented == routes)
        #expect(routes.count >= 15)
    }

    @Test("GET /v1/openapi.json serves the document")
    func openAPIServed() async throws {
        try await AgentHarness.with { agent in
            let reply = try await agent.unixRequest(AgentRoute.openAPI)
            #expect(reply.status == .ok)
            #expect(String(decoding: reply.body, as: UTF8.self) == AgentOpenAPI.document)
        }
    }
}
