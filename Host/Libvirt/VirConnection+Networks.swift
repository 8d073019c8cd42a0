internal import CLibvirt

extension VirConnection {
    /// Looks a virtual network up by name. The corresponding C function is `virNetworkLookupByName`.
    /// - Parameter name: The network name, e.g. `default`.
    /// - Returns: The network.
    /// - Throws: `VirError` with code `.noNetwork` when no network has that name.
    public func lookupNetwork(name: String) throws -> VirNetwork {
        let network = try name.withCString { cName in
            try VirError.checkValue("virNetworkLookupByName", subject: name) { virNetworkLookupByName(pointer, cName) }
        }
        return VirNetwork(network)
    }

    /// Defines a persistent, inactive network from XML. The corresponding C function is `virNetworkDefineXML`.
    /// - Parameter xml: The network XML.
    /// - Returns: The defined network.
    /// - Throws: `VirError`, e.g. `.xmlError` for malformed XML.
    public func defineNetwork(xml: String) throws -> VirNetwork {
        let network = try xml.withCString { cXML in
            try VirError.checkValue("virNetworkDefineXML") { virNetworkDefineXML(pointer, cXML) }
        }
        return VirNetwork(network)
    }

    /// Creates and starts a transient network from XML. The corresponding C function is `virNetworkCreateXML`.
    /// - Parameter xml: The network XML.
    /// - Returns: The running network.
    /// - Throws: `VirError`.
    public func createTransientNetwork(xml: String) throws -> VirNetwork {
        let network = try xml.withCString { cXML in
            try VirError.checkValue("virNetworkCreateXML") { virNetworkCreateXML(pointer, cXML) }
        }
        return VirNetwork(network)
    }

    /// Lists all networks, active and inactive. The corresponding C function is `virConnectListAllNetworks`.
    /// - Returns: The networks in libvirt's order.
    /// - Throws: `VirError`.
    public func listAllNetworks() throws -> [VirNetwork] {
        var array: UnsafeMutablePointer<virNetworkPtr?>?
        let count = try VirError.check("virConnectListAllNetworks") {
            virConnectListAllNetworks(pointer, &array, 0)
        }
        guard let array else {
            return []
        }
        defer { freeLibvirtMemory(array) }
        return (0..<Int(count)).compactMap { index in array[index].map(VirNetwork.init) }
    }
}
