internal import CLibvirt
public import Foundation

extension VirConnection {
    /// Defines (or redefines) a persistent domain from XML without starting it. The corresponding C function is
    /// `virDomainDefineXMLFlags`.
    /// - Parameters:
    ///   - xml: The domain XML.
    ///   - flags: Define flags, e.g. `.validate`.
    /// - Returns: The defined domain.
    /// - Throws: `VirError`, e.g. `.xmlError` for malformed XML or `.operationFailed` when the name or UUID clashes
    ///   with another domain.
    public func defineDomain(xml: String, flags: VirDomainDefineFlags = []) throws -> VirDomain {
        let domain = try xml.withCString { cXML in
            try VirError.checkValue("virDomainDefineXMLFlags") {
                virDomainDefineXMLFlags(pointer, cXML, flags.rawValue)
            }
        }
        return VirDomain(domain)
    }

    /// Creates and starts a transient domain from XML; it disappears when it stops. The corresponding C function
    /// is `virDomainCreateXML`.
    /// - Parameters:
    ///   - xml: The domain XML.
    ///   - flags: Start flags.
    /// - Returns: The running domain.
    /// - Throws: `VirError`.
    public func createTransientDomain(xml: String, flags: VirDomainStartFlags = []) throws -> VirDomain {
        let domain = try xml.withCString { cXML in
            try VirError.checkValue("virDomainCreateXML") { virDomainCreateXML(pointer, cXML, flags.rawValue) }
        }
        return VirDomain(domain)
    }

    /// Looks a domain up by name. The corresponding C function is `virDomainLookupByName`.
    /// - Parameter name: The domain name.
    /// - Returns: The domain.
    /// - Throws: `VirError` with code `.noDomain` when no domain has that name.
    public func lookupDomain(name: String) throws -> VirDomain {
        let domain = try name.withCString { cName in
            try VirError.checkValue("virDomainLookupByName", subject: name) { virDomainLookupByName(pointer, cName) }
        }
        return VirDomain(domain)
    }

    /// Looks a domain up by UUID. The corresponding C function is `virDomainLookupByUUIDString`.
    /// - Parameter uuid: The domain UUID.
    /// - Returns: The domain.
    /// - Throws: `VirError` with code `.noDomain` when no domain has that UUID.
    public func lookupDomain(uuid: UUID) throws -> VirDomain {
        try lookupDomain(uuidString: uuid.uuidString.lowercased())
    }

    /// Looks a domain up by the textual form of its UUID. The corresponding C function is
    /// `virDomainLookupByUUIDString`.
    /// - Parameter uuidString: The UUID, e.g. `6695eb01-f6a4-8304-79aa-97f2502e193f`.
    /// - Returns: The domain.
    /// - Throws: `VirError`: `.noDomain` when no domain has that UUID, `.invalidArgument` for a malformed UUID.
    public func lookupDomain(uuidString: String) throws -> VirDomain {
        let domain = try uuidString.withCString { cUUID in
            try VirError.checkValue("virDomainLookupByUUIDString", subject: uuidString) {
                virDomainLookupByUUIDString(pointer, cUUID)
            }
        }
        return VirDomain(domain)
    }

    /// Lists domains, active and inactive, filtered by `flags`. The corresponding C function is
    /// `virConnectListAllDomains`.
    /// - Parameter flags: Filters; empty lists every domain.
    /// - Returns: The domains in libvirt's order.
    /// - Throws: `VirError`.
    public func listAllDomains(flags: VirDomainListFlags = []) throws -> [VirDomain] {
        var array: UnsafeMutablePointer<virDomainPtr?>?
        let count = try VirError.check("virConnectListAllDomains") {
            virConnectListAllDomains(pointer, &array, flags.rawValue)
        }
        guard let array else {
            return []
        }
        defer { freeLibvirtMemory(array) }
        return (0..<Int(count)).compactMap { index in array[index].map(VirDomain.init) }
    }
}
