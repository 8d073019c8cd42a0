import Foundation
import Glibc
import Systemd
import Testing

private let journalRemote = "/lib/systemd/systemd-journal-remote"

/// Writes a journal file from export-format text with `systemd-journal-remote`.
private func makeJournal(entries: [[String: String]], in directory: URL) throws -> String {
    let output = directory.appendingPathComponent("test.journal").path
    var text = ""
    for (index, entry) in entries.enumerated() {
        text += "__REALTIME_TIMESTAMP=\(1_700_000_000_000_000 + index * 1_000_000)\n"
        text += "__MONOTONIC_TIMESTAMP=\(1000 + index)\n"
        text += "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
        for (key, value) in entry.sorted(by: { $0.key < $1.key }) { text += "\(key)=\(value)\n" }
        text += "\n"
    }
    let input = directory.appendingPathComponent("in.export")
    try text.write(to: input, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: journalRemote)
    process.arguments = ["-o", output, input.path]
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0)
    return output
}

@Suite("SystemdJournal", .timeLimit(.minutes(1)))
struct SystemdJournalTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    @Test(
        "Reads entries with their fields and resumes after a cursor",
        .enabled(if: FileManager.default.isExecutableFile(atPath: journalRemote))
    )
    func readsAndResumes() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try makeJournal(
            entries: [
                ["MESSAGE": "hello one", "PRIORITY": "6", "SYSLOG_IDENTIFIER": "tester", "_SYSTEMD_UNIT": "a.service"],
                ["MESSAGE": "hello two", "PRIORITY": "3"],
                ["MESSAGE": "hello three"],
            ],
            in: directory
        )
        let journal = try SystemdJournal(files: [file])
        try journal.seekHead()
        let first = try #require(try journal.next())
        #expect(first.message == "hello one")
        #expect(first.priority == 6)
        #expect(first.identifier == "tester")
        #expect(first.unit == "a.service")
        #expect(first.realtimeMicroseconds == 1_700_000_000_000_000)
        #expect(!first.cursor.isEmpty)
        let second = try #require(try journal.next())
        #expect(second.message == "hello two")
        #expect(second.unit == nil)
        #expect(second.identifier == nil)

        let resumed = try SystemdJournal(files: [file])
        try resumed.seek(after: first.cursor)
        #expect(try resumed.next()?.message == "hello two")
        #expect(try resumed.next()?.message == "hello three")
        #expect(try resumed.next() == nil)

        let tail = try SystemdJournal(files: [file])
        try tail.seekTail()
        #expect(try tail.next() == nil)
        #expect(try tail.wait(timeout: .milliseconds(50)) != .appended)
    }

    @Test(
        "Filters entries with a match",
        .enabled(if: FileManager.default.isExecutableFile(atPath: journalRemote))
    )
    func match() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try makeJournal(
            entries: [
                ["MESSAGE": "a", "_SYSTEMD_UNIT": "a.service"], ["MESSAGE": "b", "_SYSTEMD_UNIT": "b.service"],
            ],
            in: directory
        )
        let journal = try SystemdJournal(files: [file])
        try journal.addMatch(field: "_SYSTEMD_UNIT", value: "b.service")
        try journal.seekHead()
        #expect(try journal.next()?.message == "b")
        #expect(try journal.next() == nil)
    }

    @Test("Reports a malformed cursor as EINVAL from sd_journal_seek_cursor")
    func badCursor() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let journal = try SystemdJournal(directory: directory.path)
        let error = try #require(throws: SystemdError.self) { try journal.seek(after: "not a cursor") }
        #expect(error.function == "sd_journal_seek_cursor")
        #expect(error.errno == EINVAL)
    }

    @Test("Reports a missing journal file with its errno")
    func missingFile() throws {
        let error = try #require(throws: SystemdError.self) {
            try SystemdJournal(files: ["/nonexistent-somnus/x.journal"])
        }
        #expect(error.function == "sd_journal_open_files")
        #expect(error.errno == ENOENT)
    }
}
