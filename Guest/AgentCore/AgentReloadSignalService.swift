import AgentAPI
import Logging
import ServiceLifecycle
import Systemd
import UnixSignals

/// Reads the configuration again on each SIGHUP (`systemctl reload somnus-agent`), telling systemd RELOADING=1
/// before and READY=1 after, whether the file was taken or refused (a refused file leaves the running
/// configuration in force and is logged naming the key).
struct AgentReloadSignalService: Service {
    let state: AgentState
    /// The trapped SIGHUPs.
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        let notifier = SystemdNotifier()
        for await _ in hangups.cancelOnGracefulShutdown() {
            try? notifier.notify([.reloading, .status("reloading the configuration")])
            do {
                let outcome = try state.reloadConfiguration()
                logger.info(
                    "Configuration read again",
                    metadata: [
                        "agent.config.changed": "\(outcome.changed)",
                        "agent.config.restart_required": "\(outcome.restartRequired)",
                    ])
            } catch {
                logger.error("Configuration refused; the running one stays", metadata: ["agent.error": "\(error)"])
            }
            try? notifier.notify([.ready, .status("serving")])
        }
    }
}
