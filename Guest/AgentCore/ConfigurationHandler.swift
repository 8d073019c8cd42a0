import AgentAPI
import AgentAPIGenerated
import AgentBasics

/// `POST /v1/config/reload`: reads the configuration file again (as SIGHUP does); 403 to a non-root process on the
/// unix socket, 400 naming the key of a refused file (the running configuration stays in force).
struct ConfigurationHandler {
    /// Reads the configuration file again and puts its reloadable keys in force.
    let reload: @Sendable () throws(AgentError) -> ConfigReloadResponse

    func reloadConfiguration() throws -> Operations.ReloadConfiguration.Output {
        try AgentRequestScope.caller.requirePrivileged("reloading the configuration")
        return .ok(.init(body: .json(try reload())))
    }
}

/// The configuration operations of the generated protocol, answered by ``ConfigurationHandler``.
extension AgentAPIHandler {
    func reloadConfiguration(_ input: Operations.ReloadConfiguration.Input) throws
        -> Operations.ReloadConfiguration.Output
    {
        try configuration.reloadConfiguration()
    }
}
