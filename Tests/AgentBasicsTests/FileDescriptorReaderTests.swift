import FoundationEssentials
import Testing

@testable import AgentBasics

@Suite("FileDescriptorReader")
struct FileDescriptorReaderTests {
    @Test("A /proc file, whose size stat reports as 0, is read to its end")
    func procFileWhole() throws {
        // FileManager stops after the first read: a page of the test process's /proc/self/smaps.
        let text = String(decoding: try #require(FileDescriptorReader.readAll(path: "/proc/self/smaps")), as: UTF8.self)
        #expect(text.utf8.count > 1 << 16)
        #expect(text.split(separator: "\n").last?.hasPrefix("VmFlags:") == true)
    }

    @Test("A regular file is read whole; a missing one is nil")
    func regularAndMissing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reader-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bytes").path
        let contents = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0) })
        try Data(contents).write(to: URL(fileURLWithPath: path))
        #expect(FileDescriptorReader.readAll(path: path) == contents)
        #expect(FileDescriptorReader.readAll(path: path + "-missing") == nil)
    }
}
