import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentJobs
import AgentSystem
import FoundationEssentials
import Subprocess

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(CDispatch)
    import CDispatch
#endif

/// `POST /v1/time`, `POST /v1/fs/freeze`, `POST /v1/fs/thaw` and `POST /v1/soft-reboot`.
///
/// Every route answers 403 `forbidden` to a non-root process on the unix socket.
struct MaintenanceHandler {
    /// Accepted `unix_ns` values: 2000-01-01 to 2200-01-01.
    static let unixNanosecondsRange = 946_684_800_000_000_000...7_258_118_400_000_000_000
    /// The agent's own unit, which soft reboot refuses.
    static let agentUnit = "somnus-agent.service"

    let freeze: FreezeState
    let events: AgentEventLog
    let options: AgentMaintenanceOptions
    /// The units the configuration in force monitors (restarted when a soft reboot names none).
    let monitoredUnits: @Sendable () -> [String]

    func syncTime(_ input: Operations.SyncTime.Input) throws -> Operations.SyncTime.Output {
        try AgentRequestScope.caller.requirePrivileged("setting the clock")
        let body =
            switch input.body {
            case .json(let body): body
            }
        return .ok(.init(body: .json(try syncTime(body))))
    }

    func freezeFilesystems(_ input: Operations.FreezeFilesystems.Input) async throws
        -> Operations.FreezeFilesystems.Output
    {
        try AgentRequestScope.caller.requirePrivileged("freezing filesystems")
        let body =
            switch input.body {
            case .json(let body): body
            }
        guard (1...60).contains(body.timeoutSeconds) else {
            throw AgentError(.badRequest, "timeout_s: must be from 1 to 60, not \(body.timeoutSeconds)")
        }
        return .ok(.init(body: .json(try await freeze.freeze(timeout: .seconds(body.timeoutSeconds)))))
    }

    func thawFilesystems() async throws -> Operations.ThawFilesystems.Output {
        try AgentRequestScope.caller.requirePrivileged("thawing filesystems")
        return .ok(.init(body: .json(await freeze.thaw())))
    }

    func softReboot(_ input: Operations.SoftReboot.Input) async throws -> Operations.SoftReboot.Output {
        try AgentRequestScope.caller.requirePrivileged("restarting units")
        let body =
            switch input.body {
            case .json(let body): body
            }
        return .ok(.init(body: .json(await softReboot(try softRebootUnits(body)))))
    }

    /// Measures the drift and sets `CLOCK_REALTIME` when it exceeds the configured threshold (100 ms).
    func syncTime(_ body: TimeSyncRequest) throws(AgentError) -> TimeSyncResponse {
        guard Self.unixNanosecondsRange.contains(body.unixNanoseconds) else {
            throw AgentError(
                .badRequest,
                "unix_ns: must be from \(Self.unixNanosecondsRange.lowerBound) to \(Self.unixNanosecondsRange.upperBound), "
                    + "not \(body.unixNanoseconds)")
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let guest = Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec)
        let drift = Double(guest - body.unixNanoseconds) / 1_000_000
        let threshold = options.clockDriftThreshold
        let thresholdMilliseconds = threshold / .milliseconds(1)
        guard abs(drift) > thresholdMilliseconds else {
            return TimeSyncResponse(driftMilliseconds: drift, corrected: false)
        }
        var target = timespec(
            tv_sec: body.unixNanoseconds / 1_000_000_000, tv_nsec: body.unixNanoseconds % 1_000_000_000)
        guard clock_settime(CLOCK_REALTIME, &target) == 0 else {
            throw AgentError(.internal, "cannot set the clock: \(String(cString: strerror(errno)))")
        }
        events.record(
            AgentEventKind.timeSet, "set the clock, drift was \(drift) ms", metadata: ["drift_ms": "\(drift)"])
        return TimeSyncResponse(driftMilliseconds: drift, corrected: true)
    }

    /// The units a soft reboot restarts: the requested ones or every monitored unit.
    /// - Throws: ``AgentError`` `bad_request` for an empty name, the agent's own unit, or no units at all.
    func softRebootUnits(_ body: SoftRebootRequest) throws(AgentError) -> [String] {
        let units = body.units ?? monitoredUnits()
        guard !units.isEmpty else {
            throw AgentError(.badRequest, "units: none given and no monitored_units configured")
        }
        for (index, unit) in units.enumerated() {
            guard !unit.isEmpty, !unit.hasPrefix("-"), !unit.contains("\0") else {
                throw AgentError(.badRequest, "units[\(index)]: '\(unit)' is not a unit name")
            }
            if unit == Self.agentUnit || unit == "somnus-agent" {
                throw AgentError(.badRequest, "units[\(index)]: the agent never restarts itself (\(Self.agentUnit))")
            }
        }
        return units
    }

    /// Restarts every unit in parallel and reads its `ActiveState` afterwards.
    func softReboot(_ units: [String]) async -> SoftRebootResponse {
        let systemctl = options.systemctlPath
        let timeout = options.softRebootTimeout
        let results = await withTaskGroup(of: (Int, SoftRebootResponse.Unit).self) { group in
            for (index, unit) in units.enumerated() {
                group.addTask {
                    (index, await Self.restart(unit, systemctl: systemctl, timeout: timeout))
                }
            }
            var collected: [(Int, SoftRebootResponse.Unit)] = []
            for await result in group { collected.append(result) }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
        events.record(
            AgentEventKind.softReboot,
            "restarted \(results.count { $0.active }) of \(results.count) units",
            metadata: ["units": units.joined(separator: ",")])
        return SoftRebootResponse(units: results)
    }

    /// `systemctl restart` then `systemctl show --property=ActiveState`.
    static func restart(_ unit: String, systemctl: String, timeout: Duration) async -> SoftRebootResponse.Unit {
        var error: String?
        do {
            let output = try await JobProcess.output(of: [systemctl, "restart", "--", unit], timeout: timeout)
            if output.termination != .exited(0) {
                let reason = output.stderr.trimmed
                error = "systemctl restart \(unit) failed (\(output.termination)): \(reason)"
            }
        } catch let failure {
            error = failure.message
        }
        var activeState = "unknown"
        if let output = try? await JobProcess.output(
            of: [systemctl, "show", "--property=ActiveState", "--value", "--", unit], timeout: .seconds(10)),
            output.termination == .exited(0)
        {
            let value = output.stdout.trimmed
            if !value.isEmpty { activeState = value }
        }
        return SoftRebootResponse.Unit(
            name: unit, activeState: activeState, active: activeState == "active", error: error)
    }
}

/// The maintenance operations of the generated protocol, answered by ``MaintenanceHandler``.
extension AgentAPIHandler {
    func syncTime(_ input: Operations.SyncTime.Input) throws -> Operations.SyncTime.Output {
        try maintenance.syncTime(input)
    }

    func freezeFilesystems(_ input: Operations.FreezeFilesystems.Input) async throws
        -> Operations.FreezeFilesystems.Output
    {
        try await maintenance.freezeFilesystems(input)
    }

    func thawFilesystems(_ input: Operations.ThawFilesystems.Input) async throws -> Operations.ThawFilesystems.Output {
        try await maintenance.thawFilesystems()
    }

    func softReboot(_ input: Operations.SoftReboot.Input) async throws -> Operations.SoftReboot.Output {
        try await maintenance.softReboot(input)
    }
}
