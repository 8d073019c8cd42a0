import Foundation
import Libvirt

/// Shared helpers: every test uses its own uniquely named objects, so tests stay independent even when
/// `test:///default` connections share the driver's state.
enum Fixtures {
    static let testURI = "test:///default"

    static func open() throws -> VirConnection {
        try VirConnection(uri: testURI)
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func domainXML(
        name: String,
        uuid: UUID = UUID(),
        maxMemoryKiB: Int = 1_048_576,
        memoryKiB: Int = 524_288,
        maxVCPUs: Int = 4,
        vcpus: Int = 2
    ) -> String {
        """
        <domain type='test'>
          <name>\(name)</name>
          <uuid>\(uuid.uuidString.lowercased())</uuid>
          <memory unit='KiB'>\(maxMemoryKiB)</memory>
          <currentMemory unit='KiB'>\(memoryKiB)</currentMemory>
          <vcpu placement='static' current='\(vcpus)'>\(maxVCPUs)</vcpu>
          <os>
            <type arch='x86_64'>hvm</type>
          </os>
          <devices>
            <interface type='network'>
              <mac address='52:54:00:12:34:56'/>
              <source network='default'/>
            </interface>
          </devices>
        </domain>
        """
    }

    static func networkXML(name: String, bridge: String, octet: Int) -> String {
        """
        <network>
          <name>\(name)</name>
          <bridge name='\(bridge)'/>
          <forward mode='nat'/>
          <ip address='192.168.\(octet).1' netmask='255.255.255.0'>
            <dhcp>
              <range start='192.168.\(octet).2' end='192.168.\(octet).254'/>
            </dhcp>
          </ip>
        </network>
        """
    }
}
