import AgentAPI
import Curl
import Foundation
import Logging
import ServiceLifecycle
import SupervisorCore
import Testing

@Suite("somnus daemon's Prometheus metrics")
struct SupervisorMetricsTests {
    /// The metric families of a Prometheus text, as parsed by the reference parser (python3-prometheus-client):
    /// name → (type, samples as "name{label=value,…} value").
    private func parse(_ text: String) async throws -> [String: (type: String, samples: [String])] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                out[family.name] = {"type": family.type, "samples": [
                    s.name + "{" + ",".join(k + "=" + v for k, v in sorted(s.labels.items())) + "} " + repr(s.value)
                    for s in family.samples]}
            print(json.dumps(out))
            """
        let output: Data = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
                    process.arguments = ["-c", script]
                    let input = Pipe()
                    let output = Pipe()
                    process.standardInput = input
                    process.standardOutput = output
                    try process.run()
                    input.fileHandleForWriting.write(Data(text.utf8))
                    try input.fileHandleForWriting.close()
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: process.terminationStatus == 0 ? data : Data())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        let object = try #require(try JSONSerialization.jsonObject(with: output) as? [String: [String: Any]])
        return object.mapValues { ($0["type"] as? String ?? "", $0["samples"] as? [String] ?? []) }
    }

    @Test("/metrics lists VMs by state, each agent's health, poll latency and health changes, in Prometheus text")
    func served() async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let running = uniqueName("mx")
        let stopped = uniqueName("mx")
        _ = try await host.manager.create(name: running)
        _ = try await host.manager.create(name: stopped)
        try await host.manager.start(name: running)
        let curl = try CurlClient()
        let metrics = SupervisorMetrics()
        try await RealAgent.with(token: "tok") { address in
            try attachAgent(host, vm: running, address: address, token: "tok")
            let poller = HealthPoller(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl),
                logger: Logger(label: "test"), metrics: metrics)
            _ = await poller.sweep()
        }
        let (ready, continuation) = AsyncStream<Int>.makeStream()
        let server = try SupervisorMetricsServer(
            address: "127.0.0.1:0", manager: host.manager, metrics: metrics, logger: Logger(label: "test"),
            onReady: { continuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        let text = try await withThrowingTaskGroup(of: String?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ready.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let response = try await curl.perform(CurlRequest(url: "http://127.0.0.1:\(port)/metrics"))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(response.status == 200)
            #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            return response.bodyText
        }
        let families = try await parse(text)
        #expect(families["somnus_vms"]?.type == "gauge")
        let vms = families["somnus_vms"]?.samples ?? []
        #expect(vms.contains("somnus_vms{state=running} 1.0"), "\(vms)")
        #expect(vms.contains("somnus_vms{state=shut off} 1.0"), "\(vms)")
        let health = families["somnus_agent_health"]?.samples ?? []
        #expect(health.contains("somnus_agent_health{state=healthy,vm=\(running)} 1.0"), "\(health)")
        #expect(health.contains("somnus_agent_health{state=unreachable,vm=\(stopped)} 1.0"), "\(health)")
        #expect(families["somnus_poll_duration_seconds"]?.type == "histogram")
        let latency = families["somnus_poll_duration_seconds"]?.samples ?? []
        #expect(latency.contains("somnus_poll_duration_seconds_count{} 2.0"), "\(latency)")
        #expect(latency.contains("somnus_poll_duration_seconds_bucket{le=+Inf} 2.0"), "\(latency)")
        #expect(families["somnus_health_changes"]?.type == "counter")
    }

    @Test("an address off loopback is refused, naming it")
    func loopbackOnly() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        for address in ["0.0.0.0:9100", "192.168.213.1:9100", "127.0.0.1"] {
            let error = #expect(throws: SupervisorError.self) {
                try SupervisorMetricsServer(
                    address: address, manager: host.manager, metrics: SupervisorMetrics(), logger: Logger(label: "t"))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(address) == true)
        }
    }
}
