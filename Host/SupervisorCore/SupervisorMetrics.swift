import Foundation
import Synchronization

/// What `somnus daemon` measures for Prometheus: each agent's latest health, the poll latency as a histogram and
/// the health changes; ``render(vms:)`` adds the VMs by state and writes the text format (version 0.0.4).
public final class SupervisorMetrics: Sendable {
    /// Upper bounds of the poll-latency buckets, in seconds.
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private struct State {
        var buckets = [Int](repeating: 0, count: SupervisorMetrics.bounds.count)
        var count = 0
        var sum = 0.0
        var health: [String: AgentHealth.State] = [:]
        var changes: [AgentHealth.State: Int] = [:]
    }

    private let state = Mutex(State())

    /// Creates empty metrics.
    public init() {}

    /// Records one probe of one agent and how long it took.
    public func observe(_ health: AgentHealth, duration: Duration) {
        let seconds = duration / .seconds(1)
        state.withLock { state in
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound {
                state.buckets[index] += 1
            }
            state.count += 1
            state.sum += seconds
            state.health[health.vm] = health.state
        }
    }

    /// Counts a change of an agent's health state.
    public func countChange(to health: AgentHealth) {
        state.withLock { $0.changes[health.state, default: 0] += 1 }
    }

    /// The Prometheus text of the metrics, with `vms` (the fleet as libvirt and the inventory see it) by state.
    public func render(vms: [VMStatus]) -> String {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        lines.append("# HELP somnus_vms Virtual machines in the inventory by state.")
        lines.append("# TYPE somnus_vms gauge")
        let byState = Dictionary(grouping: vms, by: \.state).mapValues(\.count)
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) {
            lines.append("somnus_vms{state=\"\(Self.escaped(state))\"} \(count)")
        }
        lines.append("# HELP somnus_agent_health Each agent's latest health: 1 for its state, 0 for the others.")
        lines.append("# TYPE somnus_agent_health gauge")
        for (vm, current) in snapshot.health.sorted(by: { $0.key < $1.key }) {
            for candidate in AgentHealth.State.allCases {
                lines.append(
                    "somnus_agent_health{vm=\"\(Self.escaped(vm))\",state=\"\(candidate.rawValue)\"} "
                        + (candidate == current ? "1" : "0"))
            }
        }
        lines.append("# HELP somnus_poll_duration_seconds How long one probe of one agent took.")
        lines.append("# TYPE somnus_poll_duration_seconds histogram")
        for (index, bound) in Self.bounds.enumerated() {
            lines.append("somnus_poll_duration_seconds_bucket{le=\"\(bound)\"} \(snapshot.buckets[index])")
        }
        lines.append("somnus_poll_duration_seconds_bucket{le=\"+Inf\"} \(snapshot.count)")
        lines.append("somnus_poll_duration_seconds_sum \(snapshot.sum)")
        lines.append("somnus_poll_duration_seconds_count \(snapshot.count)")
        lines.append("# HELP somnus_health_changes_total Changes of an agent's health, by the state it changed to.")
        lines.append("# TYPE somnus_health_changes_total counter")
        for candidate in AgentHealth.State.allCases {
            lines.append(
                "somnus_health_changes_total{state=\"\(candidate.rawValue)\"} \(snapshot.changes[candidate] ?? 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A label value with `\`, `"` and line breaks escaped.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
