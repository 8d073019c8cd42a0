import AgentAPI
import Foundation
import Logging
import Memory

/// Test helper: writes memories into `<data-dir>` as fast as it can and prints `ack <n> <id>` after each commit,
/// until killed. `MemoryDurabilityTests` kills it with SIGKILL at random moments. With `open` instead of a number it
/// only opens the store (converting F32 vectors) and prints `opened`.
@main
struct MemoryCrashWriter {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, let start = arguments[2] == "open" ? 0 : Int(arguments[2]) else {
            FileHandle.standardError.write(Data("usage: MemoryCrashWriter <data-dir> <first-number>\n".utf8))
            exit(2)
        }
        var logger = Logger(label: "memory-crash-writer")
        logger.logLevel = .critical
        let store: MemoryStore
        do {
            store = try MemoryStore(dataDirectory: arguments[1], logger: logger)
        } catch {
            FileHandle.standardError.write(Data("open failed: \(error)\n".utf8))
            exit(1)
        }
        if arguments[2] == "open" {
            FileHandle.standardOutput.write(Data("opened\n".utf8))
            exit(0)
        }
        var number = start
        while true {
            do {
                let response = try store.add(
                    MemoryCreateRequest(
                        namespace: "crash", kind: .systemEvent, content: "crash writer entry \(number) marker\(number)",
                        tags: ["n\(number)"]))
                let line = "ack \(number) \(response.memory.id)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            } catch {
                FileHandle.standardError.write(Data("add failed: \(error)\n".utf8))
                exit(1)
            }
            number += 1
        }
    }
}
