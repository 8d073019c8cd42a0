import Testing

@testable import AgentCore

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

    @Test("The executable's code mapping is found and released, and the process keeps running its code")
    func codePagesComeBack() throws {
        let range = try #require(AgentFootprint.executableCodeRange())
        #expect(range.end > range.start)
        let release = AgentFootprint.releaseStartUpMemory()
        #expect(release == .init(heapTrimmed: true, codeBytes: Int(range.end - range.start)))
        // Running code after the release faults its pages back in.
        #expect(AgentFootprint.executableCodeRange()?.start == range.start)
    }
}
