import AgentBasics
import Foundation
import Testing

@Suite("AgentConfiguration")
struct AgentConfigurationTests {
    @Test("A missing file means the documented defaults")
    func defaults() throws {
        let configuration = try AgentConfiguration.load(path: "/nonexistent-somnus/agent.json")
        #expect(configuration.listen == AgentListenAddress(host: "0.0.0.0", port: 9901))
        #expect(configuration.tokenFile == "/etc/somnus/agent.token")
        #expect(configuration.socketPath == "/run/somnus/agent.sock")
        #expect(configuration.dataDirectory == "/var/lib/somnus-agent")
        #expect(configuration.monitoredUnits.isEmpty)
        #expect(configuration.journal)
        #expect(configuration.monitorInterval == .seconds(5))
    }

    @Test("Every key is read from the file and flags override it")
    func fileAndFlags() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("agent.json").path
        try """
        {"listen": "[::1]:1234", "token_file": "/t", "socket": "/s.sock", "data_dir": "/d",
         "monitored_units": ["nginx.service"], "log_files": {"app": "/var/log/app.log"}, "journal": false,
         "monitor_interval_seconds": 2.5}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let file = try AgentConfiguration.load(path: path)
        #expect(file.listen == AgentListenAddress(host: "::1", port: 1234))
        #expect(file.listen.description == "[::1]:1234")
        #expect(file.tokenFile == "/t")
        #expect(file.socketPath == "/s.sock")
        #expect(file.dataDirectory == "/d")
        #expect(file.monitoredUnits == ["nginx.service"])
        #expect(file.logFiles == ["app": "/var/log/app.log"])
        #expect(!file.journal)
        #expect(file.monitorInterval == .milliseconds(2500))
        let flagged = try AgentConfiguration.load(
            path: path,
            overrides: .init(listen: "127.0.0.1:0", tokenFile: "/t2", socketPath: "/s2", dataDirectory: "/d2")
        )
        #expect(flagged.listen == AgentListenAddress(host: "127.0.0.1", port: 0))
        #expect(flagged.tokenFile == "/t2")
        #expect(flagged.socketPath == "/s2")
        #expect(flagged.dataDirectory == "/d2")
        #expect(flagged.monitoredUnits == ["nginx.service"])
    }

    @Test("The written JSON reads back to the same configuration")
    func roundTrip() throws {
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "10.0.0.1", port: 9901),
            monitoredUnits: ["a.service"],
            logFiles: ["x": "/x.log"],
            journal: false,
            monitorInterval: .seconds(7)
        )
        #expect(try AgentConfiguration.parse(Data(configuration.jsonText().utf8)) == configuration)
    }

    @Test(
        "An invalid file names the key and the problem",
        arguments: [
            (#"{"bogus": 1}"#, "bogus: unknown key"),
            (#"{"listen": 5}"#, "listen: must be a string"),
            (#"{"listen": "nohost"}"#, "listen: 'nohost' is not HOST:PORT"),
            (#"{"listen": "1.2.3.4:99999"}"#, "listen: '1.2.3.4:99999' is not HOST:PORT with a port 0…65535"),
            (#"{"journal": "yes"}"#, "journal: must be true or false"),
            (#"{"monitored_units": "a"}"#, "monitored_units: must be an array of strings"),
            (#"{"monitored_units": ["a b"]}"#, "monitored_units: 'a b' is not a unit name"),
            (#"{"log_files": {"app": "rel.log"}}"#, "log_files: 'app' must be an absolute path, not 'rel.log'"),
            (#"{"monitor_interval_seconds": 0}"#, "monitor_interval_seconds: must be from 1 to 3600, not 0.0"),
            (#"{"token_file": ""}"#, "token_file: must not be empty"),
            (#"{"log_files": ["a"]}"#, "log_files: must be an object of name to path strings"),
        ]
    )
    func invalid(text: String, message: String) throws {
        let error = try #require(throws: AgentError.self) { try AgentConfiguration.parse(Data(text.utf8)) }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message == message)
    }

    @Test("A file that is not a JSON object is refused naming the file")
    func notJSON() throws {
        let error = try #require(throws: AgentError.self) {
            try AgentConfiguration.parse(Data("[1]".utf8), source: "/etc/somnus/agent.json")
        }
        #expect(error.message == "/etc/somnus/agent.json: not a valid JSON object")
    }

    @Test("A bad flag is refused naming its key")
    func badFlag() throws {
        let error = try #require(throws: AgentError.self) {
            try AgentConfiguration().applying(.init(listen: "x:y"))
        }
        #expect(error.message == "listen: 'x:y' is not HOST:PORT with a port 0…65535")
        let empty = try #require(throws: AgentError.self) { try AgentConfiguration().applying(.init(socketPath: "")) }
        #expect(empty.message == "socket: must not be empty")
    }
}
