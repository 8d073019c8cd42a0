import AgentAPIGenerated
import AgentBasics

/// The agent's side of the generated `APIProtocol`: each operation goes to the handler of its area, and each
/// handler holds only the service it uses. The operations of an area are listed in an extension in that handler's
/// file (`ErrorsHandler.swift` for `listErrors`, …), so a new operation touches one file. A handler throws ``AgentError`` (or ``MemoryError``) for a refusal;
/// ``APIErrorMiddleware`` turns it into the JSON error answer.
///
/// `GET /metrics` and `GET /v1/openapi.json` are not JSON operations: ``MetricsController`` serves the Prometheus
/// text and the document's own bytes, and ``AgentRouterTransport`` does not register their generated handlers.
final class AgentAPIHandler: APIProtocol {
    let health: HealthHandler
    let exec: ExecHandler
    let events: EventsHandler
    let maintenance: MaintenanceHandler
    let packs: PacksHandler
    let errors: ErrorsHandler
    let memory: MemoryHandler
    let configuration: ConfigurationHandler

    /// The handlers of one agent, each given its part of `state`.
    init(state: AgentState) {
        health = HealthHandler(source: state)
        exec = ExecHandler(jobs: state.jobs)
        events = EventsHandler(events: state.events)
        maintenance = MaintenanceHandler(
            freeze: state.freeze, events: state.events, options: state.maintenance,
            monitoredUnits: { state.configuration.monitoredUnits })
        packs = PacksHandler(packs: state.packs)
        errors = ErrorsHandler(
            errors: state.errors, classifier: state.classifier, memory: state.memory, freeze: state.freeze)
        memory = MemoryHandler(memory: state.memory)
        configuration = ConfigurationHandler(reload: state.reloadConfiguration)
    }
}
