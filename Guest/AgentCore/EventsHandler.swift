import AgentAPI
import AgentAPIGenerated
import AgentBasics

/// `GET /v1/events`: the agent's event ring after a cursor.
struct EventsHandler {
    let events: AgentEventLog

    func listEvents(_ input: Operations.ListEvents.Input) throws -> Operations.ListEvents.Output {
        let after = try AgentQuery.integer(input.query.after, name: "after", range: 0...Int.max, default: 0)
        let limit = try AgentQuery.integer(input.query.limit, name: "limit", range: 1...1000, default: 100)
        return .ok(.init(body: .json(events.events(after: after, limit: limit))))
    }
}

/// The events operations of the generated protocol, answered by ``EventsHandler``.
extension AgentAPIHandler {
    func listEvents(_ input: Operations.ListEvents.Input) throws -> Operations.ListEvents.Output {
        try events.listEvents(input)
    }
}
