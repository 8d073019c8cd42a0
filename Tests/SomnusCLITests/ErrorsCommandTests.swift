import Foundation
import Testing

@Suite("somnus errors, run as a binary")
struct ErrorsCommandTests {
    @Test("an unknown VM is named in one line on stderr and exits 2", .timeLimit(.minutes(2)))
    func unknownVM() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let result = try cli(["errors", "ghost", "--category", "network_failure"])
        #expect(result.status == 2)
        #expect(result.stderr == "error: no VM named 'ghost' (see `somnus vm list`)\n")
        #expect(result.stdout.isEmpty)
    }

    @Test("a bad category or limit is named and exits 2 before any VM is looked up", .timeLimit(.minutes(2)))
    func badOptions() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let category = try cli(["errors", "ghost", "--category", "disk"])
        #expect(category.status == 2)
        #expect(category.stderr.contains("--category: must be one of CUDA_ERROR"))
        #expect(category.stderr.contains("not 'disk'"))
        let limit = try cli(["errors", "ghost", "--limit", "0"])
        #expect(limit.status == 2)
        #expect(limit.stderr.contains("--limit: must be from 1 to 1000, not 0"))
    }

    @Test("--help says what the command does")
    func help() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let result = try cli(["errors", "list", "--help"], global: false)
        #expect(result.status == 0)
        #expect(result.stdout.contains("OVERVIEW: Show the errors"))
        #expect(result.stdout.contains("--category"))
    }
}
