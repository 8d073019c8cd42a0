internal import CLibvirt

/// A domain snapshot (`virDomainSnapshotPtr`).
///
/// The handle keeps its domain alive inside libvirt and is released when the last reference goes away.
// Safe as @unchecked Sendable: libvirt's public objects are thread-safe (reference counted with internal locks),
// the pointer is immutable after init, and errors are read from libvirt's thread-local last error.
public final class VirDomainSnapshot: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        virDomainSnapshotFree(pointer)
    }

    /// The snapshot name. The corresponding C function is `virDomainSnapshotGetName`.
    /// - Throws: `VirError`.
    public func name() throws -> String {
        String(cString: try VirError.checkValue("virDomainSnapshotGetName") { virDomainSnapshotGetName(pointer) })
    }

    /// The `<domainsnapshot>` XML. The corresponding C function is `virDomainSnapshotGetXMLDesc`.
    /// - Parameter secure: Include security-sensitive data (`VIR_DOMAIN_SNAPSHOT_XML_SECURE`).
    /// - Returns: The XML document.
    /// - Throws: `VirError`.
    public func xmlDescription(secure: Bool = false) throws -> String {
        try VirError.checkString("virDomainSnapshotGetXMLDesc") {
            virDomainSnapshotGetXMLDesc(pointer, secure ? 1 : 0)
        }
    }

    /// Whether this is the domain's current snapshot. The corresponding C function is
    /// `virDomainSnapshotIsCurrent`.
    /// - Throws: `VirError`.
    public func isCurrent() throws -> Bool {
        try VirError.check("virDomainSnapshotIsCurrent") { virDomainSnapshotIsCurrent(pointer, 0) } == 1
    }

    /// The parent snapshot, `nil` for a root. The corresponding C function is `virDomainSnapshotGetParent`.
    /// - Throws: `VirError` other than "no parent".
    public func parent() throws -> VirDomainSnapshot? {
        virResetLastError()
        if let parent = virDomainSnapshotGetParent(pointer, 0) {
            return VirDomainSnapshot(parent)
        }
        let error = VirError.last(function: "virDomainSnapshotGetParent")
        if error.code == .noDomainSnapshot {
            return nil
        }
        throw error
    }

    /// Reverts the owning domain to this snapshot. The corresponding C function is `virDomainRevertToSnapshot`.
    /// - Parameter flags: Revert flags, e.g. `.running` or `.force`.
    /// - Throws: `VirError`.
    public func revert(flags: VirSnapshotRevertFlags = []) throws {
        try VirError.check("virDomainRevertToSnapshot") { virDomainRevertToSnapshot(pointer, flags.rawValue) }
    }

    /// Deletes the snapshot. The corresponding C function is `virDomainSnapshotDelete`.
    /// - Parameter flags: E.g. `.children` or `.metadataOnly`.
    /// - Throws: `VirError`, `.noDomainSnapshot` when it was already deleted.
    public func delete(flags: VirSnapshotDeleteFlags = []) throws {
        try VirError.check("virDomainSnapshotDelete") { virDomainSnapshotDelete(pointer, flags.rawValue) }
    }

    /// Builds `<domainsnapshot>` XML with `name` and `description` escaped.
    /// - Parameters:
    ///   - name: The snapshot name.
    ///   - description: Free text, or `nil` for none.
    /// - Returns: The XML document.
    public static func xml(name: String, description: String? = nil) -> String {
        var xml = "<domainsnapshot>\n  <name>\(escapeXML(name))</name>\n"
        if let description {
            xml += "  <description>\(escapeXML(description))</description>\n"
        }
        xml += "</domainsnapshot>\n"
        return xml
    }

    /// Escapes the five XML special characters.
    static func escapeXML(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
