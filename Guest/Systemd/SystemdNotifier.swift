internal import CSystemd

/// One state change told to the service manager with `sd_notify`.
public enum SystemdNotifyState: Sendable, Equatable {
    /// `READY=1`: start-up finished.
    case ready
    /// `STOPPING=1`: shutdown began.
    case stopping
    /// `RELOADING=1`: the configuration is being reloaded.
    case reloading
    /// `WATCHDOG=1`: the service is alive.
    case watchdog
    /// `STATUS=…`: a one-line status for people (newlines are replaced by spaces).
    case status(String)
    /// `MAINPID=…`: the main process of the service.
    case mainPID(Int32)

    /// The `KEY=VALUE` line of this state.
    public var line: String {
        switch self {
        case .ready: "READY=1"
        case .stopping: "STOPPING=1"
        case .reloading: "RELOADING=1"
        case .watchdog: "WATCHDOG=1"
        case .status(let text):
            "STATUS=" + String(text.map { $0.isNewline ? " " : $0 })
        case .mainPID(let pid): "MAINPID=\(pid)"
        }
    }
}

/// Tells systemd about the service's state through the socket named by `NOTIFY_SOCKET`.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset, so the same code runs under systemd and outside it.
public struct SystemdNotifier: Sendable {
    /// Creates a notifier. It keeps no state; the socket is looked up on every call.
    public init() {}

    /// Sends one datagram with the given states.
    /// - Parameter states: The states to send together; an empty list sends nothing.
    /// - Returns: `true` when a message was sent, `false` when `NOTIFY_SOCKET` is unset.
    /// - Throws: ``SystemdError`` when the socket cannot be reached.
    ///
    /// The corresponding C function is `sd_notify`.
    @discardableResult
    public func notify(_ states: [SystemdNotifyState]) throws(SystemdError) -> Bool {
        if states.isEmpty { return false }
        let text = states.map(\.line).joined(separator: "\n")
        let result = text.withCString { sd_notify(0, $0) }
        return try SystemdError.check(result, "sd_notify") > 0
    }

    /// Sends one state.
    /// - Parameter state: The state.
    /// - Returns: `true` when a message was sent, `false` when `NOTIFY_SOCKET` is unset.
    /// - Throws: ``SystemdError`` when the socket cannot be reached.
    ///
    /// The corresponding C function is `sd_notify`.
    @discardableResult
    public func notify(_ state: SystemdNotifyState) throws(SystemdError) -> Bool {
        try notify([state])
    }

    /// The watchdog interval systemd expects pings within (`WATCHDOG_USEC`), or `nil` when the watchdog is off
    /// or meant for another process (`WATCHDOG_PID`).
    /// - Throws: ``SystemdError`` when the environment holds an invalid value.
    ///
    /// The corresponding C function is `sd_watchdog_enabled`.
    public func watchdogInterval() throws(SystemdError) -> Duration? {
        var usec: UInt64 = 0
        let result = sd_watchdog_enabled(0, &usec)
        if try SystemdError.check(result, "sd_watchdog_enabled") == 0 || usec == 0 {
            return nil
        }
        return .microseconds(Int64(clamping: usec))
    }
}
