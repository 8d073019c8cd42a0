import Foundation
import Libvirt
import Logging

extension VMStatus {
    /// The state word of a VM whose memory is parked in libvirt's managed save file: libvirt reports it shut
    /// off, and its next start restores the saved memory instead of booting.
    public static let suspended = "suspended"
}

extension VMManager {
    /// Suspends a running VM: libvirt saves its memory and device state to its managed save file and stops it.
    /// - Parameter name: The VM.
    /// - Throws: ``SupervisorError/Code/invalidState`` naming the VM and its state when it is not running,
    ///   ``SupervisorError/Code/libvirt`` when the save fails.
    public func suspend(name: String) async throws(SupervisorError) {
        let domainName = try record(name).domain
        let refusal = try await libvirt("suspend '\(name)'", vm: name) { connection -> String? in
            let domain = try connection.lookupDomain(name: domainName)
            let state = try domain.state()
            guard state == .running || state == .paused else {
                if state == .shutOff, try domain.hasManagedSaveImage() {
                    return "'\(name)' is suspended already; resume it with `somnus vm resume \(name)`"
                }
                return "'\(name)' is \(state), not running; only a running VM can be suspended"
            }
            try domain.managedSave(flags: .running)
            return nil
        }
        if let refusal {
            throw SupervisorError(.invalidState, refusal)
        }
        logger.info("vm suspended", metadata: ["vm.name": "\(name)"])
    }

    /// Whether the VM is suspended: shut off with a managed save file that its next start restores.
    /// - Throws: ``SupervisorError/Code/notFound`` for an unknown VM or domain.
    public func isSuspended(name: String) async throws(SupervisorError) -> Bool {
        let domainName = try record(name).domain
        return try await libvirt("read '\(name)'", vm: name) { connection in
            let domain = try connection.lookupDomain(name: domainName)
            return try domain.state() == .shutOff && domain.hasManagedSaveImage()
        }
    }

    /// Refuses an operation that a suspended VM cannot take without losing its saved memory.
    /// - Parameters:
    ///   - name: The VM.
    ///   - action: What was asked, completing "resume it before …", e.g. `taking a snapshot`.
    /// - Throws: ``SupervisorError/Code/invalidState`` naming the VM and the command that resumes it.
    func refuseIfSuspended(_ name: String, _ action: String) async throws(SupervisorError) {
        if try await isSuspended(name: name) {
            throw SupervisorError(
                .invalidState, "'\(name)' is suspended; resume it with `somnus vm resume \(name)` before \(action)")
        }
    }
}
