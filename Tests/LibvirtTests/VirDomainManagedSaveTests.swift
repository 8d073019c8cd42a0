import Foundation
import Libvirt
import Testing

@Suite("VirDomain managed save")
struct VirDomainManagedSaveTests {
    @Test("a managed save stops the domain, keeps its image, and the next start restores and consumes it")
    func saveAndRestore() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("save")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        #expect(try !domain.hasManagedSaveImage())
        try domain.create()
        try domain.managedSave()
        #expect(try domain.state() == .shutOff)
        #expect(try domain.hasManagedSaveImage())

        try domain.create()
        #expect(try domain.state() == .running)
        #expect(try !domain.hasManagedSaveImage())
        try domain.destroy()
        try domain.undefine(flags: [])
    }

    @Test("removing the image makes the next start a fresh boot; removing none is not an error")
    func remove() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("unsave")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        try domain.create()
        try domain.managedSave(flags: .running)
        try domain.removeManagedSaveImage()
        #expect(try !domain.hasManagedSaveImage())
        try domain.removeManagedSaveImage()
        try domain.undefine(flags: [])
    }

    @Test("saving a domain that is not running is refused as an invalid operation")
    func notRunning() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("idle")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        let error = #expect(throws: VirError.self) { try domain.managedSave() }
        #expect(error?.code == .operationInvalid)
        #expect(error?.function == "virDomainManagedSave")
        try domain.undefine(flags: [])
    }

    @Test("undefining with everything removes a domain that has a managed save image")
    func undefineWithImage() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("gone")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        try domain.create()
        try domain.managedSave()
        #expect(try domain.undefineRemovingMetadata().contains(.managedSave))
        let error = #expect(throws: VirError.self) { try connection.lookupDomain(name: name) }
        #expect(error?.code == .noDomain)
    }

    @Test("the test driver keeps a <genid/> in the domain XML with a generated ID")
    func genid() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("genid")
        let xml = Fixtures.domainXML(name: name).replacingOccurrences(
            of: "<os>", with: "<genid/>\n  <os>")
        let domain = try connection.defineDomain(xml: xml)
        let description = try domain.xmlDescription(flags: .inactive)
        #expect(description.contains("<genid>"))
        try domain.undefine(flags: [])
    }
}
