import Foundation
import Testing

@Suite("somnus vm create --image and QEMU's access, run as a binary")
struct ImageOptionTests {
    static let id = "0123456789abcdef"

    /// Moves the CLI fixture's image into `images/base/<id>/` with both manifests, as `somnus image build` leaves it.
    private static func hashedLayout(_ cli: CLI) throws -> (root: String, own: String) {
        let root = cli.stateDirectory.appendingPathComponent("images/base")
        let own = root.appendingPathComponent(id)
        try FileManager.default.createDirectory(at: own, withIntermediateDirectories: true)
        for file in ["vmlinuz", "initrd.img", "disk.qcow2"] {
            try FileManager.default.moveItem(
                at: root.appendingPathComponent(file), to: own.appendingPathComponent(file))
        }
        let manifest = Data(
            """
            {"inputHash":"cli-test","kernel":"\(id)/vmlinuz","initrd":"\(id)/initrd.img","disk":"\(id)/disk.qcow2",
             "kernelCommandLine":"root=/dev/vda rw console=ttyS0"}
            """.utf8)
        try manifest.write(to: own.appendingPathComponent("manifest.json"))
        try manifest.write(to: root.appendingPathComponent("manifest.json"))
        return (root.path, own.path)
    }

    @Test("--image takes the images directory or one image's own directory and says which image it used")
    func bothForms() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let (root, own) = try Self.hashedLayout(cli)
        let fromOwn = try cli(["vm", "create", "own", "--accel", "tcg", "--image", own])
        #expect(fromOwn.status == 0, "\(fromOwn.stderr)")
        #expect(fromOwn.stderr == "created own from image \(own)\n")
        let fromRoot = try cli(["vm", "create", "root", "--accel", "tcg", "--image", root])
        #expect(fromRoot.status == 0, "\(fromRoot.stderr)")
        #expect(fromRoot.stderr == "created root from image \(own) (the newest in \(root))\n")
        let byDefault = try cli(["vm", "create", "plain", "--accel", "tcg"])
        #expect(byDefault.stderr == fromRoot.stderr.replacingOccurrences(of: "created root", with: "created plain"))
        let help = try cli(["vm", "create", "--help"], global: false)
        #expect(help.stdout.contains("one image's directory"))
    }

    @Test(
        "a state directory QEMU's user cannot reach is refused at create, naming the path, the user and the fix",
        .enabled(if: getpwnam("libvirt-qemu") != nil, "needs the libvirt-qemu user of a qemu:///system host"),
        .timeLimit(.minutes(2)))
    func unreachableStateDirectory() throws {
        let fixture = try CLI.withImage()
        defer { fixture.cleanUp() }
        let closed = fixture.stateDirectory.appendingPathComponent("closed")
        let state = closed.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try FileManager.default.moveItem(
            at: fixture.stateDirectory.appendingPathComponent("images"), to: state.appendingPathComponent("images"))
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: closed.path)
        let cli = CLI(stateDirectory: state, libvirtURI: "qemu:///system")
        let name = "access-" + UUID().uuidString.prefix(8).lowercased()
        let result = try cli(["vm", "create", name, "--accel", "tcg"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: QEMU runs as libvirt-qemu, which cannot traverse \(closed.path)"))
        #expect(result.stderr.contains("`chmod o+x \(closed.path)`"))
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("vms/\(name)").path))
    }
}
