import AgentAPI
import Hummingbird

/// `POST /v1/config/reload`: reads the configuration file again (as SIGHUP does); 403 to a non-root process on the
/// unix socket, 400 naming the key of a refused file (the running configuration stays in force).
struct ConfigurationController {
    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        let state = state
        router.post(RouterPath(AgentRoute.configReload)) { _, context in
            try context.caller.requirePrivileged("reloading the configuration")
            return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: try state.reloadConfiguration())
        }
    }
}
