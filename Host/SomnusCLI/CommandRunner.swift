import ArgumentParser
import Foundation
import Logging
import SupervisorCore

extension GlobalOptions {
    /// The supervisor configuration these options describe, with the custom profiles file read.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the profiles file and field at fault.
    func configuration() throws(SupervisorError) -> SupervisorConfiguration {
        var configuration = SupervisorConfiguration(stateDirectory: stateDir, libvirtURI: libvirtURI)
        let defaultPath = StateLayout(root: stateDir).profilesPath
        if let path = profiles ?? (FileManager.default.fileExists(atPath: defaultPath) ? defaultPath : nil) {
            configuration.customProfiles = try ProfileCatalog.loadCustomProfiles(file: path)
        }
        return configuration
    }

    /// Runs a command body, printing a ``SupervisorError`` as one line and exiting 2 for usage errors
    /// (unknown VM, bad value) and 1 for failed operations.
    func run(_ body: (Logger) async throws(SupervisorError) -> Void) async throws {
        let logger = makeLogger()
        do {
            try await body(logger)
        } catch {
            Output.note("error: \(error)")
            throw ExitCode(error.isUsageError ? 2 : 1)
        }
    }

    /// Opens the inventory and connects to libvirt.
    func manager(_ logger: Logger) async throws(SupervisorError) -> VMManager {
        try await VMManager(configuration: try configuration(), logger: logger)
    }
}
