import AgentAPI
import AgentBasics
import AgentCore
import ArgumentParser
import Curl
import Foundation
import Logging

/// `somnus-bench error-fixes`: what the fixes cost `GET /v1/errors`, and `POST /v1/errors/fixes` latency.
struct ErrorFixBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "error-fixes",
        abstract:
            "GET /v1/errors latency without fixes, with fixes read once (warm) and right after a fix is recorded "
            + "(cold: one export of the namespace), and POST /v1/errors/fixes latency, on an in-process agent.")
    @Option(help: "Distinct errors in the log (each its own template).") var errors = 200
    @Option(help: "Fixes recorded (spread over twice as many templates, so half the errors have some).")
    var fixes = 1_000
    @Option(help: "Requests timed per figure.") var requests = 100

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-bench-fix-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token").path
        try Data("bench-token".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let log = directory.appendingPathComponent("app.log").path
        FileManager.default.createFile(atPath: log, contents: nil)
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0), tokenFile: tokenFile,
            tlsDirectory: directory.appendingPathComponent("tls").path,
            socketPath: directory.appendingPathComponent("agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path, logFiles: ["app": log], journal: false,
            monitorInterval: .seconds(1))
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let server = AgentServer(configuration: configuration, logger: logger, handleSignals: false)
        let curl = try CurlClient()
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0.port) } }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw ValidationError("the agent did not start") }
            let base = "http://127.0.0.1:\(port)"
            let listing = CurlRequest(
                url: "\(base)\(AgentRoute.errors)?limit=\(errors)", bearerToken: "bench-token", timeout: .seconds(30))

            let lines = (0..<errors).map { "ModuleNotFoundError: No module named '\(Self.name($0))'" }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
            try handle.close()
            try await waitUntilListed(listing, curl: curl)
            let bare = try await timed(requests) { _ in try await Self.perform(listing, curl: curl, status: 200) }
            report("GET /v1/errors, no fixes", bare)

            let record = try await timed(fixes) { index in
                let module = Self.name(index % (2 * errors))
                let body = ErrorFixRequest(
                    fix: "pip install \(module) (fix \(index))",
                    line: "ModuleNotFoundError: No module named '\(module)'")
                let request = CurlRequest(
                    method: .post, url: "\(base)\(AgentRoute.errorFixes)",
                    headers: ["Content-Type": "application/json"], body: Array(try JSONEncoder().encode(body)),
                    bearerToken: "bench-token", timeout: .seconds(30))
                try await Self.perform(request, curl: curl, status: 201)
            }
            report("POST /v1/errors/fixes (\(fixes) fixes stored one by one)", record)

            let answer = try await curl.perform(listing)
            let listed = try JSONDecoder().decode(ErrorsResponse.self, from: Data(answer.body))
            let withFixes = listed.errors.filter { !$0.fixes.isEmpty }.count
            print("\(listed.errors.count) errors listed, \(withFixes) with fixes, \(answer.body.count) bytes")
            let warm = try await timed(requests) { _ in try await Self.perform(listing, curl: curl, status: 200) }
            report("GET /v1/errors, \(fixes) fixes read (warm)", warm)
            var cold: [Double] = []
            for index in 0..<min(requests, 30) {
                let body = ErrorFixRequest(fix: "cold fix \(index)", template: "bench template \(index)")
                let request = CurlRequest(
                    method: .post, url: "\(base)\(AgentRoute.errorFixes)",
                    headers: ["Content-Type": "application/json"], body: Array(try JSONEncoder().encode(body)),
                    bearerToken: "bench-token", timeout: .seconds(30))
                try await Self.perform(request, curl: curl, status: 201)
                cold += try await timed(1) { _ in try await Self.perform(listing, curl: curl, status: 200) }
            }
            report(
                "GET /v1/errors right after a fix is recorded (cold: export and index of ~\(fixes) fixes)",
                cold.sorted())
            group.cancelAll()
        }
    }

    /// A module name of letters only (the classifier masks digits, so names with numbers share one template).
    static func name(_ index: Int) -> String {
        var name = "pkg"
        var rest = index
        repeat {
            name.append(Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(rest % 26))))
            rest /= 26
        } while rest > 0
        return name
    }

    /// Polls until the listing holds every distinct error.
    private func waitUntilListed(_ listing: CurlRequest, curl: CurlClient) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let answer = try await curl.perform(listing)
            if answer.status == 200,
                let response = try? JSONDecoder().decode(ErrorsResponse.self, from: Data(answer.body)),
                response.errors.count == errors
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the agent did not list \(errors) errors within 120 s")
    }

    /// Sends a request and checks its status (503 while the memory store opens is waited out).
    private static func perform(_ request: CurlRequest, curl: CurlClient, status: Int) async throws {
        while true {
            let answer = try await curl.perform(request)
            if answer.status == status { return }
            guard answer.status == 503 else {
                throw ValidationError("\(request.url) answered \(answer.status): \(answer.bodyText)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Runs `work` `count` times in a row; the durations in ms, sorted.
    private func timed(_ count: Int, _ work: (Int) async throws -> Void) async throws -> [Double] {
        let clock = ContinuousClock()
        var times: [Double] = []
        for index in 0..<count {
            let start = clock.now
            try await work(index)
            times.append((clock.now - start) / .milliseconds(1))
        }
        return times.sorted()
    }

    private func report(_ label: String, _ sorted: [Double]) {
        print(
            String(
                format: "%@: p50 %.2f ms, p99 %.2f ms (%d requests)", label, percentile(sorted, 0.5),
                percentile(sorted, 0.99), sorted.count))
    }
}
