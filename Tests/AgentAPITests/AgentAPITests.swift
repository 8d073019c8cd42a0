import AgentAPI
import Foundation
import Testing

@Suite("Agent wire types")
struct AgentAPITests {
    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("The error body has the documented shape")
    func errorBody() throws {
        #expect(
            try json(APIErrorBody(code: "bad_request", message: "m"))
                == #"{"error":{"code":"bad_request","message":"m"}}"#)
    }

    @Test("Exec requests use timeout_s and decode with only argv")
    func execRequest() throws {
        let request = try JSONDecoder().decode(ExecRequest.self, from: Data(#"{"argv":["ls"],"timeout_s":5}"#.utf8))
        #expect(request == ExecRequest(argv: ["ls"], timeoutSeconds: 5))
        #expect(try json(ExecRequest(shell: "true", timeoutSeconds: 1)) == #"{"shell":"true","timeout_s":1}"#)
    }

    @Test("The optional exec user is sent only when set, so older agents and hosts still agree")
    func execUser() throws {
        #expect(try json(ExecRequest(argv: ["id"])) == #"{"argv":["id"]}"#)
        #expect(try json(ExecRequest(argv: ["id"], user: "nobody")) == #"{"argv":["id"],"user":"nobody"}"#)
        let decoded = try JSONDecoder().decode(ExecRequest.self, from: Data(#"{"argv":["id"],"user":"1000"}"#.utf8))
        #expect(decoded.user == "1000")
    }

    @Test("Job states use the documented spellings")
    func jobStates() throws {
        #expect(ExecJobState.allSpellings == ["running", "exited", "timed_out", "cancelled", "failed_to_start"])
        #expect(!ExecJobState.running.isFinal)
        #expect(ExecJobState.failedToStart.isFinal)
    }

    @Test("Snake-case keys round-trip for status, stats, job and output bodies")
    func roundTrips() throws {
        let status = StatusResponse(
            agentVersion: "0.1.0", protocolVersion: 1, binarySHA256: "ab", uptimeSeconds: 1, bootID: "b",
            hostname: "h", features: ["exec"]
        )
        #expect(try json(status).contains(#""binary_sha256":"ab""#))
        #expect(try JSONDecoder().decode(StatusResponse.self, from: Data(try json(status).utf8)) == status)
        let stats = StatsResponse(
            timestamp: 1, cpuPercent: 2, cpuCount: 3, memoryTotalBytes: 4, memoryUsedBytes: 5, memoryAvailableBytes: 6,
            loadAverages: [0.1, 0.2, 0.3],
            filesystems: [.init(mountPoint: "/", type: "ext4", totalBytes: 7, usedBytes: 8, availableBytes: 9)],
            network: [.init(interface: "eth0", receivedBytes: 10, sentBytes: 11)],
            units: [.init(name: "a.service", activeState: "active", mainPID: 12, cpuPercent: 1.5, rssBytes: 13)],
            errorCounts: [:]
        )
        #expect(try json(stats).contains(#""active_state":"active""#))
        #expect(try JSONDecoder().decode(StatsResponse.self, from: Data(try json(stats).utf8)) == stats)
        let job = ExecJobResponse(
            id: "i", state: .timedOut, exitCode: nil, signal: 15, stdout: "o", stderr: "e", stdoutTruncated: false,
            stderrTruncated: true, error: nil, startedAt: 1, finishedAt: 2
        )
        #expect(try json(job).contains(#""state":"timed_out""#))
        #expect(try JSONDecoder().decode(ExecJobResponse.self, from: Data(try json(job).utf8)) == job)
        let output = ExecOutputResponse(
            stream: .stderr, offset: 1, nextOffset: 2, data: "d", state: .running, complete: false, truncated: false
        )
        #expect(try json(output).contains(#""next_offset":2"#))
        #expect(try JSONDecoder().decode(ExecOutputResponse.self, from: Data(try json(output).utf8)) == output)
    }

    @Test("Maintenance bodies use the documented snake_case keys")
    func maintenanceBodies() throws {
        #expect(try json(TimeSyncRequest(unixNanoseconds: 7)) == #"{"unix_ns":7}"#)
        #expect(
            try json(TimeSyncResponse(driftMilliseconds: 1.5, corrected: false))
                == #"{"corrected":false,"drift_ms":1.5}"#)
        #expect(try json(FreezeRequest(timeoutSeconds: 9)) == #"{"timeout_s":9}"#)
        #expect(try json(FreezeResponse(frozen: ["/"], thawDeadline: 2)) == #"{"frozen":["\/"],"thaw_deadline":2}"#)
        #expect(try json(ThawResponse(thawed: [])) == #"{"thawed":[]}"#)
        #expect(try JSONDecoder().decode(SoftRebootRequest.self, from: Data("{}".utf8)) == SoftRebootRequest())
        let reboot = SoftRebootResponse(units: [.init(name: "a", activeState: "failed", active: false, error: "e")])
        #expect(try json(reboot) == #"{"units":[{"active":false,"active_state":"failed","error":"e","name":"a"}]}"#)
        #expect(try JSONDecoder().decode(SoftRebootResponse.self, from: Data(try json(reboot).utf8)) == reboot)
    }

    @Test("Events use next_cursor and round-trip")
    func events() throws {
        let events = EventsResponse(
            events: [.init(cursor: 3, time: 1, kind: AgentEventKind.jobFinished, message: "m", metadata: ["k": "v"])],
            nextCursor: 3)
        #expect(
            try json(events)
                == #"{"events":[{"cursor":3,"kind":"job_finished","message":"m","metadata":{"k":"v"},"time":1}],"next_cursor":3}"#
        )
        #expect(try JSONDecoder().decode(EventsResponse.self, from: Data(try json(events).utf8)) == events)
    }

    @Test("Readiness is ready only when every check passed")
    func readiness() {
        #expect(ReadyResponse(checks: [.init(name: "a", ok: true)]).status == "ready")
        let failing = ReadyResponse(checks: [.init(name: "a", ok: true), .init(name: "b", ok: false, detail: "x")])
        #expect(failing.status == "not_ready")
        #expect(!failing.ready)
    }
}

extension ExecJobState {
    static var allSpellings: [String] {
        [ExecJobState.running, .exited, .timedOut, .cancelled, .failedToStart].map(\.rawValue)
    }
}
