import Foundation
import Libvirt
import Testing

@Suite("VirDomainSnapshot")
struct VirDomainSnapshotTests {
    @Test("creates, lists, looks up and describes snapshots")
    func createAndList() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("snap")))
        try domain.create()
        #expect(try domain.currentSnapshot() == nil)
        let first = try domain.createSnapshot(name: "first", description: "Before installing 'dev' pack.")
        let second = try domain.createSnapshot(xml: VirDomainSnapshot.xml(name: "second"))
        #expect(try first.name() == "first")
        #expect(try domain.snapshotCount() == 2)
        #expect(try Set(domain.listAllSnapshots().map { try $0.name() }) == ["first", "second"])
        #expect(try domain.listAllSnapshots(flags: .roots).map { try $0.name() } == ["first"])
        #expect(try domain.lookupSnapshot(name: "first").name() == "first")
        #expect(try first.xmlDescription().contains("Before installing &apos;dev&apos; pack."))
        #expect(try domain.currentSnapshot()?.name() == "second")
        #expect(try second.isCurrent())
        #expect(try second.parent()?.name() == "first")
        #expect(try first.parent() == nil)
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("reverts to an earlier snapshot's state")
    func revert() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("revert")))
        try domain.create()
        let running = try domain.createSnapshot(name: "running")
        try domain.destroy()
        #expect(try domain.state() == .shutOff)

        try domain.revert(to: running)
        #expect(try domain.state() == .running)
        #expect(try domain.currentSnapshot()?.name() == "running")

        try domain.destroy()
        let stopped = try domain.createSnapshot(name: "stopped")
        try domain.create()
        try stopped.revert()
        #expect(try domain.state() == .shutOff)
        try running.revert(flags: .paused)
        #expect(try domain.state() == .paused)
        try domain.destroy()
        try domain.undefineRemovingMetadata()
    }

    @Test("deletes snapshots, alone or with children")
    func delete() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("del")))
        let root = try domain.createSnapshot(name: "root")
        _ = try domain.createSnapshot(name: "child")
        let leaf = try domain.createSnapshot(name: "leaf")
        try leaf.delete()
        #expect(try domain.listAllSnapshots().map { try $0.name() }.sorted() == ["child", "root"])
        try root.delete(flags: .children)
        #expect(try domain.snapshotCount() == 0)

        let error = try #require(throws: VirError.self) { try domain.lookupSnapshot(name: "leaf") }
        #expect(error.code == .noDomainSnapshot)
        #expect(error.function == "virDomainSnapshotLookupByName")
        #expect(error.message.contains("leaf"))
        try domain.undefine(flags: [])
    }

    @Test("undefine needs snapshot metadata removal once snapshots exist")
    func undefineWithSnapshots() throws {
        let connection = try Fixtures.open()
        let name = Fixtures.uniqueName("undef")
        let domain = try connection.defineDomain(xml: Fixtures.domainXML(name: name))
        _ = try domain.createSnapshot(name: "keep")

        let error = try #require(throws: VirError.self) { try domain.undefine(flags: []) }
        #expect(error.function == "virDomainUndefineFlags")
        #expect(error.message.contains("snapshot"))
        #expect(try domain.isPersistent())

        try domain.undefineRemovingMetadata()
        let gone = try #require(throws: VirError.self) { try connection.lookupDomain(name: name) }
        #expect(gone.code == .noDomain)
    }

    @Test("malformed snapshot XML and duplicate names fail with content")
    func failures() throws {
        let domain = try Fixtures.open().defineDomain(xml: Fixtures.domainXML(name: Fixtures.uniqueName("badsnap")))
        let bad = try #require(throws: VirError.self) { try domain.createSnapshot(xml: "<domainsnapshot><name>") }
        #expect(bad.code == .xmlError || bad.code == .xmlDetail)
        #expect(bad.function == "virDomainSnapshotCreateXML")

        _ = try domain.createSnapshot(name: "once")
        let duplicate = try #require(throws: VirError.self) { try domain.createSnapshot(name: "once") }
        #expect(duplicate.function == "virDomainSnapshotCreateXML")
        #expect(duplicate.message.contains("once"))
        try domain.undefineRemovingMetadata()
    }
}
