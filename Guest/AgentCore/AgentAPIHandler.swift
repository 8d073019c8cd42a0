import AgentAPIGenerated
import AgentBasics

/// The agent's side of the generated `APIProtocol`: each operation goes to the handler of its area, and each
/// handler holds only the service it uses. A handler throws ``AgentError`` (or ``MemoryError``) for a refusal;
/// ``APIErrorMiddleware`` turns it into the JSON error answer.
///
/// `GET /metrics` and `GET /v1/openapi.json` are not JSON operations: ``MetricsController`` serves the Prometheus
/// text and the document's own bytes, and ``AgentRouterTransport`` does not register their generated handlers.
struct AgentAPIHandler: APIProtocol {
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

    // MARK: Health and status

    func getLiveness(_ input: Operations.GetLiveness.Input) -> Operations.GetLiveness.Output {
        health.getLiveness()
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) -> Operations.GetReadiness.Output {
        health.getReadiness()
    }

    func getStatus(_ input: Operations.GetStatus.Input) async throws -> Operations.GetStatus.Output {
        try await health.getStatus()
    }

    func getStats(_ input: Operations.GetStats.Input) async throws -> Operations.GetStats.Output {
        try await health.getStats()
    }

    // MARK: Exec jobs

    func startExec(_ input: Operations.StartExec.Input) throws -> Operations.StartExec.Output {
        try exec.startExec(input)
    }

    func getExecJob(_ input: Operations.GetExecJob.Input) throws -> Operations.GetExecJob.Output {
        try exec.getExecJob(input)
    }

    func cancelExecJob(_ input: Operations.CancelExecJob.Input) throws -> Operations.CancelExecJob.Output {
        try exec.cancelExecJob(input)
    }

    func getExecOutput(_ input: Operations.GetExecOutput.Input) async throws -> Operations.GetExecOutput.Output {
        try await exec.getExecOutput(input)
    }

    // MARK: Events

    func listEvents(_ input: Operations.ListEvents.Input) throws -> Operations.ListEvents.Output {
        try events.listEvents(input)
    }

    // MARK: Maintenance

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

    // MARK: Packs

    func listPacks(_ input: Operations.ListPacks.Input) async throws -> Operations.ListPacks.Output {
        try await packs.listPacks()
    }

    func installPack(_ input: Operations.InstallPack.Input) async throws -> Operations.InstallPack.Output {
        try await packs.installPack(input)
    }

    func getPackJob(_ input: Operations.GetPackJob.Input) throws -> Operations.GetPackJob.Output {
        try packs.getPackJob(input)
    }

    func cancelPackJob(_ input: Operations.CancelPackJob.Input) throws -> Operations.CancelPackJob.Output {
        try packs.cancelPackJob(input)
    }

    // MARK: Errors

    func listErrors(_ input: Operations.ListErrors.Input) async throws -> Operations.ListErrors.Output {
        try await errors.listErrors(input)
    }

    func recordErrorFix(_ input: Operations.RecordErrorFix.Input) async throws -> Operations.RecordErrorFix.Output {
        try await errors.recordErrorFix(input)
    }

    func classifyLines(_ input: Operations.ClassifyLines.Input) async throws -> Operations.ClassifyLines.Output {
        try await errors.classifyLines(input)
    }

    // MARK: Memory

    func createMemory(_ input: Operations.CreateMemory.Input) async throws -> Operations.CreateMemory.Output {
        try await memory.createMemory(input)
    }

    func searchMemories(_ input: Operations.SearchMemories.Input) async throws -> Operations.SearchMemories.Output {
        try await memory.searchMemories(input)
    }

    func getMemoryStats(_ input: Operations.GetMemoryStats.Input) async throws -> Operations.GetMemoryStats.Output {
        try await memory.getMemoryStats(input)
    }

    func exportMemories(_ input: Operations.ExportMemories.Input) async throws -> Operations.ExportMemories.Output {
        try await memory.exportMemories(input)
    }

    func importMemories(_ input: Operations.ImportMemories.Input) async throws -> Operations.ImportMemories.Output {
        try await memory.importMemories(input)
    }

    func recordMemoryTurn(_ input: Operations.RecordMemoryTurn.Input) async throws
        -> Operations.RecordMemoryTurn.Output
    {
        try await memory.recordMemoryTurn(input)
    }

    func rotateMemoryKey(_ input: Operations.RotateMemoryKey.Input) async throws -> Operations.RotateMemoryKey.Output {
        try await memory.rotateMemoryKey()
    }

    func getMemory(_ input: Operations.GetMemory.Input) async throws -> Operations.GetMemory.Output {
        try await memory.getMemory(input)
    }

    func updateMemory(_ input: Operations.UpdateMemory.Input) async throws -> Operations.UpdateMemory.Output {
        try await memory.updateMemory(input)
    }

    func deleteMemory(_ input: Operations.DeleteMemory.Input) async throws -> Operations.DeleteMemory.Output {
        try await memory.deleteMemory(input)
    }

    // MARK: Configuration

    func reloadConfiguration(_ input: Operations.ReloadConfiguration.Input) throws
        -> Operations.ReloadConfiguration.Output
    {
        try configuration.reloadConfiguration()
    }

    // MARK: Served by MetricsController

    // The transport never registers these two (their answers are not JSON operations); should one be reached,
    // it is an error answer, not a crash.

    func getMetrics(_ input: Operations.GetMetrics.Input) throws -> Operations.GetMetrics.Output {
        throw AgentError(.internal, "GET /metrics is served by MetricsController, not through the generated server")
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) throws -> Operations.GetOpenAPIDocument.Output
    {
        throw AgentError(
            .internal, "GET /v1/openapi.json is served by MetricsController, not through the generated server")
    }
}
