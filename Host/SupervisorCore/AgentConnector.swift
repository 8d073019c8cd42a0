import AgentAPI
public import Curl
import Foundation

/// The one way the supervisor reaches agents: it owns the curl client and knows, for each VM, where its agent
/// listens (IPv4 or IPv6, with or without a port), its token and its TLS pins.
///
/// A VM whose agent was deployed with TLS (it has an agent certificate) is reached over `https` with the
/// certificate's key pinned and the supervisor's client certificate; one without is reached over plain `http`
/// until its next deploy.
public struct AgentConnector: Sendable {
    /// The state directory's layout, where tokens and certificates live.
    public let layout: StateLayout
    /// The deadline of each request.
    public let timeout: Duration
    /// The curl client every agent request goes through.
    public let curl: CurlClient

    /// Creates a connector.
    /// - Parameters:
    ///   - layout: Where the VMs' credentials are.
    ///   - timeout: The per-request deadline.
    ///   - curl: The curl client to share; a new one when `nil`.
    /// - Throws: ``SupervisorError/Code/agent`` when libcurl cannot be initialised.
    public init(layout: StateLayout, timeout: Duration, curl: CurlClient? = nil) throws(SupervisorError) {
        self.layout = layout
        self.timeout = timeout
        if let curl {
            self.curl = curl
        } else {
            self.curl = try Self.makeCurl()
        }
    }

    /// A new curl client, with libcurl's failure as a ``SupervisorError``.
    /// - Throws: ``SupervisorError/Code/agent`` when libcurl cannot be initialised.
    static func makeCurl() throws(SupervisorError) -> CurlClient {
        do {
            return try CurlClient()
        } catch {
            throw SupervisorError(.agent, "cannot initialise libcurl", cause: error)
        }
    }

    /// Creates a connector for a manager's VMs with its configured deadline.
    /// - Throws: ``SupervisorError/Code/agent`` when libcurl cannot be initialised.
    public init(manager: VMManager, curl: CurlClient? = nil) throws(SupervisorError) {
        try self.init(layout: manager.layout, timeout: manager.configuration.agentRequestTimeout, curl: curl)
    }

    /// A client for a VM's agent at its recorded address.
    /// - Throws: ``SupervisorError/Code/invalidState`` when the VM has no address yet, ``SupervisorError/Code/hostCommand``
    ///   when its certificate cannot be read.
    public func client(for record: VMRecord) throws(SupervisorError) -> AgentClient {
        guard let address = record.address else {
            throw SupervisorError(.invalidState, "'\(record.name)' has no address yet")
        }
        return try client(for: record, address: address)
    }

    /// A client for a VM's agent at `address`: an IPv4 address, an IPv6 address, or either with a port
    /// (`127.0.0.1:8080`, `[::1]:8080`, as in-process test agents and forwarded ports use); without a port the
    /// agent's default applies.
    /// - Throws: ``SupervisorError/Code/hostCommand`` when the VM's certificate cannot be read.
    public func client(for record: VMRecord, address: String) throws(SupervisorError) -> AgentClient {
        let (host, port) = Self.split(address)
        if let credentials = try AgentCredentials.read(layout: layout, vm: record.domain) {
            return AgentClient(
                address: host, port: port, token: credentials.token, tls: credentials.tls, timeout: timeout, curl: curl)
        }
        let token = (try? String(contentsOfFile: layout.agentTokenPath(record.domain), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return AgentClient(address: host, port: port, token: token, timeout: timeout, curl: curl)
    }

    /// The same connector on a new curl client, so that none of the connections the old one keeps is reused.
    ///
    /// After a snapshot revert the guest's TCP state is the snapshot's: a connection that carried requests after
    /// the snapshot was taken is one whose next request the guest never acknowledges, and it hangs until the
    /// deadline.
    /// - Throws: ``SupervisorError/Code/agent`` when libcurl cannot be initialised.
    public func withNewConnections() throws(SupervisorError) -> AgentConnector {
        try AgentConnector(layout: layout, timeout: timeout)
    }

    /// Host and port of an address in any of the forms ``client(for:address:)`` takes.
    static func split(_ address: String) -> (host: String, port: Int) {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            let host = String(address[address.index(after: address.startIndex)..<close])
            let rest = address[address.index(after: close)...]
            if rest.hasPrefix(":"), let port = Int(rest.dropFirst()) { return (host, port) }
            return (host, AgentProtocol.defaultPort)
        }
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let port = Int(parts[1]) { return (String(parts[0]), port) }
        return (address, AgentProtocol.defaultPort)
    }
}
