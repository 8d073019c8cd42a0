/// The OpenAPI document of the agent's HTTP API, for what derives from it outside this module (the input
/// schemas of `somnus-agent mcp`'s tools).
public enum AgentAPIDocument {
    /// The document's JSON text, as `GET /v1/openapi.json` serves it.
    public static var json: String { AgentOpenAPI.document }
}
