import Testing

@testable import Libvirt

@Suite("VirError")
struct VirErrorTests {
    @Test("describes itself with function, message, code and domain names")
    func description() {
        let error = VirError(
            code: .noDomain, domain: .test, message: "Domain not found", function: "virDomainLookupByName")
        #expect(error.description == "virDomainLookupByName: Domain not found (noDomain, test)")
    }

    @Test("keeps codes and domains it does not name")
    func unnamedCodes() {
        let error = VirError(
            code: VirError.Code(rawValue: 999),
            domain: VirError.Domain(rawValue: 777),
            message: "m",
            function: "f"
        )
        #expect(error.description == "f: m (code 999, domain 777)")
    }

    @Test("parses the unsupported flag bits from libvirt's message")
    func unsupportedFlags() {
        let message = "invalid argument: unsupported flags (0x34) in function testDomainUndefineFlags"
        #expect(VirDomain.unsupportedFlagBits(in: message) == 0x34)
        #expect(VirDomain.unsupportedFlagBits(in: "Domain not found") == nil)
    }

    @Test("escapes XML special characters in snapshot XML")
    func snapshotXML() {
        let xml = VirDomainSnapshot.xml(name: "a<b", description: "Before installing 'dev' & \"more\" >")
        #expect(xml.contains("<name>a&lt;b</name>"))
        #expect(
            xml.contains("<description>Before installing &apos;dev&apos; &amp; &quot;more&quot; &gt;</description>"))
        #expect(!VirDomainSnapshot.xml(name: "n").contains("description"))
    }
}
