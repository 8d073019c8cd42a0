import FoundationEssentials
import Glibc
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

    @Test("Every private anonymous mapping is marked no-huge-pages; files and the kernel's pages are left alone")
    func anonymousMappingsRefuseHugePages() throws {
        // A mapping of its own, 4 MiB: two 2 MiB blocks the kernel could back with huge pages.
        let size = 4 << 20
        let region = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(region != MAP_FAILED)
        defer { munmap(region, size) }
        region.storeBytes(of: 1, as: UInt8.self)
        let start = UInt(bitPattern: region)
        let anonymous = AgentFootprint.mappings(in: "/proc/self/maps").filter(\.isPrivateAnonymous)
        #expect(anonymous.contains { $0.start <= start && start < $0.end })
        #expect(!anonymous.contains { $0.path.hasPrefix("/") || $0.path == "[vdso]" || $0.path == "[vvar]" })

        #expect(AgentFootprint.refuseHugePages() >= size)
        // smaps lists each mapping's flags: `nh` is MADV_NOHUGEPAGE.
        var flagsOfRegion: String?
        var inRegion = false
        for line in SystemSampler.read("/proc/self/smaps")?.split(separator: "\n") ?? [] {
            if let bounds = line.split(separator: " ").first, bounds.contains("-"), !bounds.hasSuffix(":") {
                let range = bounds.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inRegion = range.count == 2 && range[0] <= start && start < range[1]
            } else if inRegion, line.hasPrefix("VmFlags:") {
                flagsOfRegion = String(line)
            }
        }
        #expect(flagsOfRegion?.split(separator: " ").contains("nh") == true, "\(flagsOfRegion ?? "no VmFlags")")
    }

    @Test("Threads started after limitThreadStacks get stacks smaller than one huge page")
    func threadStacksStaySmall() throws {
        let previous = try #require(AgentFootprint.setThreadStackSize(AgentFootprint.threadStackBytes))
        defer { _ = AgentFootprint.setThreadStackSize(previous) }
        var thread = pthread_t()
        // The thread answers with an address on its stack.
        let created = pthread_create(
            &thread, nil,
            { _ in
                var local = 0
                return withUnsafeMutablePointer(to: &local) { UnsafeMutableRawPointer($0) }
            }, nil)
        #expect(created == 0)
        var result: UnsafeMutableRawPointer?
        pthread_join(thread, &result)
        let address = UInt(bitPattern: result)
        let stack = try #require(
            AgentFootprint.mappings(in: "/proc/self/maps").first { $0.start <= address && address < $0.end })
        #expect(stack.end - stack.start < 2 << 20, "a stack of \(stack.end - stack.start) bytes")
    }

    @Test("Read-only file mappings are released, and the process keeps running")
    func cleanPagesComeBack() throws {
        let mappings = AgentFootprint.fileMappings()
        #expect(!mappings.isEmpty && mappings.allSatisfy { $0.path.hasPrefix("/") })
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let code = try #require(mappings.first { $0.permissions == "r-xp" && $0.path == executable })
        #expect(code.isReadOnly && code.anonymousKiB == 0)
        #expect(!mappings.contains { $0.permissions == "rw-p" && $0.isReadOnly })

        let release = AgentFootprint.releaseStartUpMemory()
        let clean = mappings.filter { $0.isReadOnly && $0.anonymousKiB == 0 }
        #expect(release.heapTrimmed)
        #expect(release.fileBytes >= clean.reduce(0) { $0 + Int($1.end - $1.start) })
        // Running code and reading constants after the release fault their pages back in.
        #expect(
            AgentFootprint.fileMappings().first { $0.permissions == "r-xp" && $0.path == executable }?.start
                == code.start)
        #expect("a constant string of the executable".utf8.count == 35)
    }

    @Test("In a read-only mapping, a page written before it became read-only stays; the file's own pages go")
    func writtenPagesStay() throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("footprint-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("four-pages").path
        // Page i holds the byte i + 1.
        let contents = (0..<4).flatMap { [UInt8](repeating: UInt8($0 + 1), count: pageSize) }
        try Data(contents).write(to: URL(fileURLWithPath: path))
        let file = open(path, O_RDONLY)
        try #require(file >= 0)
        defer { close(file) }
        let base = try #require(mmap(nil, 4 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0))
        try #require(base != MAP_FAILED)
        defer { munmap(base, 4 * pageSize) }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        #expect((0..<4).map { bytes[$0 * pageSize] } == [1, 2, 3, 4])
        // Page 1 becomes a private copy, as a relocation makes it, then the mapping turns read-only, as RELRO does.
        (pageSize..<2 * pageSize).forEach { bytes[$0] = 0xEE }
        #expect(mprotect(base, 4 * pageSize, PROT_READ) == 0)
        let mapping = try #require(AgentFootprint.fileMappings().first { $0.path == path })
        #expect(mapping.isReadOnly && mapping.anonymousKiB == pageSize / 1024)

        #expect(AgentFootprint.releaseFilePages(of: mapping, pagemap: -1) == 0)
        let pagemap = open("/proc/self/pagemap", O_RDONLY)
        try #require(pagemap >= 0)
        defer { close(pagemap) }
        #expect(AgentFootprint.releaseFilePages(of: mapping, pagemap: pagemap) == 3 * pageSize)
        #expect((pageSize..<2 * pageSize).allSatisfy { bytes[$0] == 0xEE })
        #expect([0, 2, 3].map { bytes[$0 * pageSize + pageSize - 1] } == [1, 3, 4])
    }
}
