import AgentAPI
import AgentBasics
import AgentCore
import Foundation
import NIOCore
import NIOPosix
import Testing

/// A unix socket in a temporary directory of its own whose server reads one request head per connection, writes
/// `answer` piece by piece and closes, or with `answer` nil writes nothing and waits for the client to go.
private func withCannedAgent<Result: Sendable>(
    answer: [String]?,
    _ body: @Sendable (_ socketPath: String) async throws -> Result
) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("socket-client-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("agent.sock").path
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    try await connection.executeThenClose { inbound, outbound in
                        var reader = inbound.makeAsyncIterator()
                        var request = ByteBuffer()
                        while !String(buffer: request).contains("\r\n\r\n"), var chunk = try await reader.next() {
                            request.writeBuffer(&chunk)
                        }
                        guard let answer else {
                            while try await reader.next() != nil {}
                            return
                        }
                        for piece in answer { try await outbound.write(ByteBuffer(string: piece)) }
                    }
                }
            }
        }
        let result = try await body(path)
        group.cancelAll()
        return result
    }
}

/// The error `send` throws.
private func sendError(_ client: AgentSocketClient) async -> AgentError? {
    do {
        _ = try await client.send("GET", "/v1/health/live")
        return nil
    } catch {
        return error
    }
}

@Suite("AgentSocketClient", .timeLimit(.minutes(1)))
struct AgentSocketClientTests {
    @Test("No socket at the path, or a path too long for one, is agent_unreachable naming the path")
    func noSocket() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID())/agent.sock").path
        let error = try #require(await sendError(AgentSocketClient(socketPath: path)))
        #expect(error.code == .agentUnreachable)
        #expect(error.message.contains("cannot connect to the agent at \(path)"))
        #expect(error.message.contains("No such file or directory"))
        let long = path + String(repeating: "x", count: 200)
        let tooLong = try #require(await sendError(AgentSocketClient(socketPath: long)))
        #expect(tooLong.code == .agentUnreachable)
        #expect(tooLong.message.contains("the socket path '\(long)' is not a usable unix socket path"))
    }

    @Test("A chunked answer sent in pieces is read whole, without its chunk framing")
    func chunkedAnswer() async throws {
        let answer = [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Part: first\r\nX-Part: last\r\n\r\n",
            "5\r\nhello\r\n", "6\r\n wor", "ld\r\n", "0\r\n\r\n",
        ]
        let response = try await withCannedAgent(answer: answer) { path in
            try await AgentSocketClient(socketPath: path).send("GET", "/v1/memories/export")
        }
        #expect(response.status == 200)
        #expect(response.text == "hello world")
        #expect(response.headers["transfer-encoding"] == "chunked")
        #expect(response.headers["x-part"] == "last")
    }

    @Test("An answer without Content-Length or chunks ends with the connection")
    func answerEndedByClose() async throws {
        let response = try await withCannedAgent(answer: ["HTTP/1.1 503 Service Unavailable\r\n\r\n", "busy"]) {
            try await AgentSocketClient(socketPath: $0).send("POST", "/v1/memories", body: Array("{}".utf8))
        }
        #expect(response.status == 503)
        #expect(response.text == "busy")
        #expect(!response.isSuccess)
    }

    @Test("An answer sent before the agent read the whole request is returned")
    func earlyAnswer() async throws {
        let refusal = #"{"error":{"code":"payload_too_large","message":"the body is larger than 1 MiB"}}"#
        let answer = ["HTTP/1.1 413 Content Too Large\r\nContent-Length: \(refusal.utf8.count)\r\n\r\n" + refusal]
        let response = try await withCannedAgent(answer: answer) {
            try await AgentSocketClient(socketPath: $0).send(
                "POST", "/v1/memories", body: [UInt8](repeating: UInt8(ascii: "a"), count: 16 << 20))
        }
        #expect(response.status == 413)
        #expect(response.apiError?.code == "payload_too_large")
    }

    @Test("A connection closed in the middle of the answer is bad_response")
    func closedMidAnswer() async throws {
        for answer in [
            ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "only part of it"],
            ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "10\r\nshort"],
            ["HTTP/1.1 200 OK\r\nContent-"],
        ] {
            let error = try await withCannedAgent(answer: answer) { await sendError(AgentSocketClient(socketPath: $0)) }
            #expect(error?.code == .badResponse, "\(answer)")
            #expect(error?.message == "the agent closed the connection in the middle of its answer", "\(answer)")
        }
        let silent = try await withCannedAgent(answer: []) { await sendError(AgentSocketClient(socketPath: $0)) }
        #expect(silent?.code == .badResponse)
        #expect(silent?.message == "the agent closed the connection before a complete answer")
    }

    @Test("An answer that is not HTTP is bad_response")
    func notHTTP() async throws {
        let error = try await withCannedAgent(answer: ["SSH-2.0-OpenSSH_9.6\r\n\r\n"]) {
            await sendError(AgentSocketClient(socketPath: $0))
        }
        #expect(error?.code == .badResponse)
        #expect(error?.message.hasPrefix("the agent's answer is not HTTP/1.1") == true)
    }

    @Test("An agent that stays silent for the timeout is agent_unreachable")
    func silentAgent() async throws {
        let error = try await withCannedAgent(answer: nil) {
            await sendError(AgentSocketClient(socketPath: $0, timeout: .milliseconds(500)))
        }
        #expect(error?.code == .agentUnreachable)
        #expect(error?.message.contains("sent nothing for") == true)
    }
}
