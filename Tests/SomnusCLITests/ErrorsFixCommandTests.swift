import Foundation
import Testing

@Suite("somnus errors fix, run as a binary")
struct ErrorsFixCommandTests {
    @Test("neither or both of --template and --line, or a blank fix, is named and exits 2", .timeLimit(.minutes(2)))
    func badOptions() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let neither = try cli(["errors", "fix", "ghost", "pip install torch"])
        #expect(neither.status == 2)
        #expect(neither.stderr == "error: --template or --line: one of them is required\n")
        let both = try cli(["errors", "fix", "ghost", "--template", "t", "--line", "l", "pip install torch"])
        #expect(both.status == 2)
        #expect(both.stderr == "error: --template, --line: give only one of them\n")
        let blank = try cli(["errors", "fix", "ghost", "--line", "l", " "])
        #expect(blank.status == 2)
        #expect(blank.stderr == "error: <text>: the fix must not be empty\n")
        #expect(neither.stdout.isEmpty && both.stdout.isEmpty && blank.stdout.isEmpty)
    }

    @Test("an unknown VM is named in one line on stderr and exits 2", .timeLimit(.minutes(2)))
    func unknownVM() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let result = try cli(["errors", "fix", "ghost", "--line", "No module named 'torch'", "pip install torch"])
        #expect(result.status == 2)
        #expect(result.stderr == "error: no VM named 'ghost' (see `somnus vm list`)\n")
    }

    @Test("`errors VM` still lists (the default subcommand); `errors --help` names both", .timeLimit(.minutes(2)))
    func help() throws {
        let cli = try CLI.withImage(libvirtURI: "test:///default")
        defer { cli.cleanUp() }
        let listing = try cli(["errors", "ghost"])
        #expect(listing.stderr == "error: no VM named 'ghost' (see `somnus vm list`)\n")
        let parent = try cli(["errors", "--help"], global: false)
        #expect(parent.status == 0)
        #expect(parent.stdout.contains("list (default)"))
        #expect(parent.stdout.contains("Record what fixed an error"))
        let fix = try cli(["errors", "fix", "--help"], global: false)
        #expect(fix.status == 0)
        #expect(fix.stdout.contains("OVERVIEW: Record what fixed an error"))
        #expect(fix.stdout.contains("--template"))
        #expect(fix.stdout.contains("--line"))
    }
}
