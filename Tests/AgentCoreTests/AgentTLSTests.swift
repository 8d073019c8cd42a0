import AgentAPI
import AgentBasics
import AgentCore
import Foundation
import Logging
import Testing

@Suite("The TCP listener's TLS files")
struct AgentTLSTests {
    /// Runs an agent whose `tls_dir` holds `files` (name → text) and returns the error it stops with.
    private func startError(files: [String: String]) async throws -> AgentError? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-tls-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = directory.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: tls.appendingPathComponent(name))
        }
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0),
            tokenFile: directory.appendingPathComponent("token").path, tlsDirectory: tls.path,
            socketPath: directory.appendingPathComponent("run/agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path, journal: false)
        var logger = Logger(label: "agent-tls-test")
        logger.logLevel = .critical
        let server = AgentServer(configuration: configuration, logger: logger, handleSignals: false)
        do {
            try await server.run()
            return nil
        } catch let error as AgentError {
            return error
        }
    }

    @Test("a tls_dir with only some of its files stops the agent, naming the missing file")
    func partialDirectory() async throws {
        let error = try await startError(files: [AgentTLSFiles.certificate: "x"])
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(AgentTLSFiles.privateKey) == true, "\(String(describing: error))")
    }

    @Test("a file that is not PEM stops the agent, naming it")
    func notPEM() async throws {
        let error = try await startError(files: [
            AgentTLSFiles.certificate: "not a certificate", AgentTLSFiles.privateKey: "not a key",
            AgentTLSFiles.clientCertificate: "not a certificate",
        ])
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(AgentTLSFiles.certificate) == true, "\(String(describing: error))")
    }
}
