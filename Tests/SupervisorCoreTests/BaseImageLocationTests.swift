import Foundation
import SupervisorCore
import Testing

/// An images directory laid out as `Images/build-image.sh` leaves it: `<root>/<id>/` holds the files and a
/// manifest naming them as `<id>/…`; `<root>/manifest.json` is a copy of the newest image's.
struct ImagesDirectory {
    let root: URL
    let id = "0123456789abcdef"

    static func make() throws -> ImagesDirectory {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-images-\(UUID())/images/base")
        let images = ImagesDirectory(root: root)
        let directory = root.appendingPathComponent(images.id)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in ["vmlinuz", "initrd.img", "disk.qcow2"] {
            try Data(file.utf8).write(to: directory.appendingPathComponent(file))
        }
        let manifest = Data(
            """
            {"inputHash":"h","kernel":"\(images.id)/vmlinuz","initrd":"\(images.id)/initrd.img",
             "disk":"\(images.id)/disk.qcow2","kernelCommandLine":"console=ttyS0"}
            """.utf8)
        try manifest.write(to: directory.appendingPathComponent("manifest.json"))
        try manifest.write(to: root.appendingPathComponent("manifest.json"))
        return images
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: root.deletingLastPathComponent().deletingLastPathComponent())
    }
}

@Suite("Base image location: the images directory or one image's own directory")
struct BaseImageLocationTests {
    @Test("the images directory and the image's own directory (with or without a trailing slash) find the same files")
    func bothForms() throws {
        let images = try ImagesDirectory.make()
        defer { images.cleanUp() }
        let root = images.root.path
        let own = root + "/" + images.id
        let fromRoot = try BaseImage.locate(root)
        #expect(fromRoot.kind == .imagesRoot)
        #expect(fromRoot.diskPath == own + "/disk.qcow2")
        #expect(fromRoot.kernelPath == own + "/vmlinuz")
        #expect(fromRoot.initrdPath == own + "/initrd.img")
        #expect(fromRoot.summary == "image \(own) (the newest in \(root))")
        for given in [own, own + "/"] {
            let fromOwn = try BaseImage.locate(given)
            #expect(fromOwn.kind == .imageDirectory)
            #expect(fromOwn.directory == own)
            #expect(fromOwn.diskPath == fromRoot.diskPath)
            #expect(fromOwn.kernelPath == fromRoot.kernelPath)
            #expect(fromOwn.summary == "image \(own)")
        }
    }

    @Test("a directory without a manifest names the command that builds one")
    func noManifest() throws {
        let images = try ImagesDirectory.make()
        defer { images.cleanUp() }
        let error = #expect(throws: SupervisorError.self) { try BaseImage.locate(images.root.path + "/missing") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("somnus image build") == true)
    }

    @Test("a manifest whose files are missing names both places looked at")
    func filesMissing() throws {
        let images = try ImagesDirectory.make()
        defer { images.cleanUp() }
        try FileManager.default.removeItem(at: images.root.appendingPathComponent(images.id + "/disk.qcow2"))
        let error = #expect(throws: SupervisorError.self) { try BaseImage.locate(images.root.path) }
        #expect(error?.code == .notFound)
        let parent = images.root.deletingLastPathComponent().path
        #expect(
            error?.message.hasPrefix(
                "the image manifest \(images.root.path)/manifest.json names \(images.id)/disk.qcow2, found neither in "
                    + "\(images.root.path) nor in \(parent)") == true, "\(error?.message ?? "")")
    }
}
