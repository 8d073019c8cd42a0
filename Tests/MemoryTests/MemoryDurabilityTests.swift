import AgentAPI
import Foundation
import Memory
import SQLite
import Testing

@Suite("Memory durability", .serialized)
struct MemoryDurabilityTests {
    /// The helper binary, built next to the test bundle.
    static func writerPath() throws -> String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                "MemoryCrashWriter"
            ).path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/MemoryCrashWriter").path,
        ]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) })
    }

    @Test("kill -9 at random moments, 100 times: every acknowledged write survives", .timeLimit(.minutes(3)))
    func killNine() throws {
        let directory = try TemporaryDirectory()
        let writer = try Self.writerPath()
        var acknowledged: [Int: String] = [:]
        var next = 0
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: writer)
            process.arguments = [directory.path, String(next)]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Start-up (opening the store, deriving keys) takes a while on a busy machine: wait for the first
            // acknowledgement, then kill at a random moment of the writing itself.
            var data = Data()
            while !data.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            usleep(UInt32.random(in: 1_000...60_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            data.append(output.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "ack", let number = Int(parts[1]) else {
                    continue
                }
                acknowledged[number] = String(parts[2])
                next = max(next, number + 1)
            }
            next += 1
        }
        #expect(acknowledged.count > 100, "the writer should acknowledge writes between kills")
        let database = try SQLiteDatabase(path: directory.databasePath)
        try database.integrityCheck()
        let store = try openStore(directory)
        for (number, id) in acknowledged {
            let record = try store.get(id: id, namespace: "crash")
            #expect(record.content == "crash writer entry \(number) marker\(number)")
        }
    }
}
