import Foundation
import SupervisorCore
import Testing

@Suite("QEMU's user must reach the files a domain opens")
struct QEMUAccessTests {
    /// `root/closed/file` with `closed` at `mode`, `file` at `fileMode`.
    private func tree(closed mode: Int, file fileMode: Int) throws -> (root: URL, file: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-access-\(UUID())")
        let closed = root.appendingPathComponent("closed")
        try FileManager.default.createDirectory(at: closed, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        let file = closed.appendingPathComponent("disk.qcow2").path
        try Data("disk".utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: fileMode], ofItemAtPath: file)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: closed.path)
        return (root, file)
    }

    @Test(
        "a directory it cannot traverse is named with its mode, the user and what to do",
        .enabled(if: QEMUAccess() != nil && getuid() != 64055, "needs a libvirt-qemu user other than the tester"))
    func closedDirectory() throws {
        let access = try #require(QEMUAccess())
        let (root, file) = try tree(closed: 0o700, file: 0o644)
        defer { try? FileManager.default.removeItem(at: root) }
        let error = #expect(throws: SupervisorError.self) { try access.check(file, .read) }
        let closed = root.appendingPathComponent("closed").path
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message.hasPrefix("QEMU runs as libvirt-qemu, which cannot traverse \(closed) (mode 700") == true)
        #expect(error?.message.contains("to reach \(file)") == true)
        #expect(error?.message.contains("--state-dir") == true)
        #expect(error?.message.contains("`chmod o+x \(closed)`") == true)
    }

    @Test(
        "a file it cannot read is named; one it can reach, or reach and read, passes",
        .enabled(if: QEMUAccess() != nil && getuid() != 64055, "needs a libvirt-qemu user other than the tester"))
    func unreadableFile() throws {
        let access = try #require(QEMUAccess())
        let (root, file) = try tree(closed: 0o755, file: 0o600)
        defer { try? FileManager.default.removeItem(at: root) }
        let error = #expect(throws: SupervisorError.self) { try access.check(file, .read) }
        #expect(error?.message.hasPrefix("QEMU runs as libvirt-qemu, which cannot read \(file) (mode 600") == true)
        #expect(error?.message.contains("`chmod o+r \(file)`") == true)

        try access.check(file, .reach)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        try access.check(file, .read)
        try access.check(root.appendingPathComponent("closed").path, .traverse)
    }

    @Test("a host without the user has nothing to check")
    func noSuchUser() {
        #expect(QEMUAccess(user: "somnus-no-such-user") == nil)
    }
}
