import FoundationEssentials
import Testing

@testable import AgentSystem

@Suite("AgentFootprint")
struct AgentFootprintTests {
    @Test("The heap trim finds glibc's malloc_trim and leaves live memory intact")
    func trimKeepsLiveMemory() {
        var live = [UInt8](repeating: 7, count: 1 << 20)
        do {
            // A large block freed before the trim: the trim may hand its pages back to the kernel.
            let freed = [UInt8](repeating: 1, count: 8 << 20)
            #expect(freed.count == 8 << 20)
        }
        #expect(AgentFootprint.releaseFreeHeapPages())
        live[live.count - 1] = 9
        #expect(live.first == 7 && live.last == 9)
    }

    @Test("Only never-written read-only file mappings are released, and the process keeps running")
    func cleanPagesComeBack() throws {
        let mappings = AgentFootprint.fileMappings()
        #expect(!mappings.isEmpty && mappings.allSatisfy { $0.path.hasPrefix("/") })
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let code = try #require(mappings.first { $0.permissions == "r-xp" && $0.path == executable })
        #expect(code.isCleanReadOnly)
        // The RELRO segment (read-only after the loader wrote its relocations) holds copied pages: kept.
        let relro = try #require(mappings.first { $0.permissions == "r--p" && $0.anonymousKiB > 0 })
        #expect(!relro.isCleanReadOnly)
        #expect(!mappings.contains { $0.permissions == "rw-p" && $0.isCleanReadOnly })

        let release = AgentFootprint.releaseStartUpMemory()
        let clean = mappings.filter(\.isCleanReadOnly)
        #expect(release == .init(heapTrimmed: true, fileBytes: clean.reduce(0) { $0 + Int($1.end - $1.start) }))
        // Running code and reading constants after the release fault their pages back in.
        #expect(
            AgentFootprint.fileMappings().first { $0.permissions == "r-xp" && $0.path == executable }?.start
                == code.start)
        #expect("a constant string of the executable".utf8.count == 35)
    }
}
