import Foundation
import Testing

@testable import Curl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private struct Payload: Codable, Equatable {
    var name: String
    var count: Int
    var tags: [String]
}

private struct ErrorBody: Codable, Equatable {
    struct Detail: Codable, Equatable {
        var code: String
        var message: String
    }
    var error: Detail
}

private struct NotEncodable: Encodable {
    func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(
            self,
            EncodingError.Context(codingPath: [], debugDescription: "refuses to encode")
        )
    }
}

/// Runs `body` and returns the `CurlError` it throws, or `nil` when it returns normally.
private func curlError<T>(_ body: () async throws(CurlError) -> T) async -> CurlError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, read, then closed).
private func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 ? getsockname(fd, pointer, &length) : -1
        }
    }
    guard result == 0 else { throw TestServerError("cannot reserve a port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

private func temporarySocketPath() -> String {
    "/tmp/somnus-curl-\(UUID().uuidString.prefix(8)).sock"
}

@Suite("CurlClient against a real HTTP server", .timeLimit(.minutes(2)))
struct CurlClientTests {
    let server: TestHTTPServer
    let client: CurlClient

    init() throws {
        server = try TestHTTPServer()
        client = try CurlClient()
    }

    @Test("GET returns the status, headers and body")
    func getEcho() async throws {
        let response = try await client.perform(CurlRequest(url: server.baseURL + "/echo"))
        #expect(response.status == 200)
        #expect(response.isSuccess)
        #expect(response.header("X-TEST-SERVER") == "somnus")
        #expect(response.headers["content-type"] == "application/json")
        let echo = try JSONDecoder().decode(TestHTTPServer.EchoReply.self, from: Data(response.body))
        #expect(echo.method == "GET")
        #expect(echo.path == "/echo")
        #expect(echo.authorization == nil)
        #expect(echo.body.isEmpty)
    }

    @Test("get decodes a 2xx JSON body")
    func getDecodes() async throws {
        let echo = try await client.get(CurlRequest(url: server.baseURL + "/echo"), as: TestHTTPServer.EchoReply.self)
        #expect(echo.method == "GET")
    }

    @Test("send round-trips a JSON body and sets the JSON content type")
    func jsonRoundTrip() async throws {
        let payload = Payload(name: "vm-1", count: 3, tags: ["a", "b", "ünïcode"])
        let mirrored = try await client.send(
            CurlRequest(url: server.baseURL + "/mirror"), body: payload, as: Payload.self)
        #expect(mirrored == payload)

        let echo = try await client.send(
            CurlRequest(url: server.baseURL + "/echo"),
            body: payload,
            as: TestHTTPServer.EchoReply.self
        )
        #expect(echo.method == "POST")
        #expect(echo.contentType == "application/json")
        let sent = try JSONDecoder().decode(Payload.self, from: Data(echo.body.utf8))
        #expect(sent == payload)
    }

    @Test("send without a decoded answer returns the raw response")
    func sendRaw() async throws {
        let response = try await client.send(
            CurlRequest(method: .put, url: server.baseURL + "/echo", headers: ["Content-Type": "text/x-test"]),
            body: ["k": "v"]
        )
        let echo = try response.decode(TestHTTPServer.EchoReply.self)
        #expect(echo.method == "PUT")
        #expect(echo.contentType == "text/x-test")
        #expect(echo.body == #"{"k":"v"}"#)
    }

    @Test("POST with no body and DELETE reach the server with their methods")
    func postAndDelete() async throws {
        let post = try await client.get(
            CurlRequest(method: .post, url: server.baseURL + "/echo"),
            as: TestHTTPServer.EchoReply.self
        )
        #expect(post.method == "POST")
        #expect(post.body.isEmpty)

        let delete = try await client.get(
            CurlRequest(method: .delete, url: server.baseURL + "/echo"),
            as: TestHTTPServer.EchoReply.self
        )
        #expect(delete.method == "DELETE")

        let patch = try await client.get(
            CurlRequest(method: CurlMethod(rawValue: "PATCH"), url: server.baseURL + "/echo", body: Array("x=1".utf8)),
            as: TestHTTPServer.EchoReply.self
        )
        #expect(patch.method == "PATCH")
        #expect(patch.body == "x=1")
    }

    @Test("HEAD returns the status without a body")
    func head() async throws {
        let response = try await client.perform(CurlRequest(method: .head, url: server.baseURL + "/echo"))
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
    }

    @Test("the bearer token arrives as an Authorization header")
    func bearerToken() async throws {
        let echo = try await client.get(
            CurlRequest(url: server.baseURL + "/echo", bearerToken: "s3cret-token"),
            as: TestHTTPServer.EchoReply.self
        )
        #expect(echo.authorization == "Bearer s3cret-token")
    }

    @Test("perform returns 4xx answers without throwing")
    func performKeepsErrorStatus() async throws {
        let response = try await client.perform(CurlRequest(url: server.baseURL + "/status/503"))
        #expect(response.status == 503)
        #expect(!response.isSuccess)
        #expect(response.bodyText.contains("status_503"))
    }

    @Test("a 404 answer becomes an httpStatus error with its body preserved")
    func notFound() async throws {
        let url = server.baseURL + "/no/such/route"
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.get(CurlRequest(url: url), as: Payload.self)
            })
        #expect(error.code == .httpStatus)
        #expect(error.status == 404)
        #expect(error.url == url)
        #expect(error.method == "GET")
        #expect(error.message.contains("HTTP 404"))
        #expect(error.decodeBody(as: ErrorBody.self)?.error.code == "status_404")
        #expect(error.bodyText.contains("forced status 404"))
        #expect(error.description.contains("http_status"))
    }

    @Test("a 401 answer to send becomes an httpStatus error with its body preserved")
    func unauthorized() async throws {
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.send(
                    CurlRequest(url: server.baseURL + "/status/401"), body: ["a": 1], as: Payload.self)
            })
        #expect(error.code == .httpStatus)
        #expect(error.status == 401)
        #expect(error.method == "POST")
        #expect(
            error.decodeBody(as: ErrorBody.self)
                == ErrorBody(error: .init(code: "status_401", message: "forced status 401")))
    }

    @Test("a 2xx body that is not the expected JSON is an undecodableBody error")
    func undecodable() async throws {
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.get(CurlRequest(url: server.baseURL + "/garbage"), as: Payload.self)
            })
        #expect(error.code == .undecodableBody)
        #expect(error.status == 200)
        #expect(error.bodyText == "this is {not json")
        #expect(error.message.contains("Payload"))
        #expect(error.cause is DecodingError)
        #expect(error.decodeBody(as: Payload.self) == nil)

        let wrongShape = try #require(
            await curlError { () async throws(CurlError) in
                try await client.get(CurlRequest(url: server.baseURL + "/echo"), as: Payload.self)
            })
        #expect(wrongShape.code == .undecodableBody)
    }

    @Test("a body that cannot be encoded is an unencodableBody error and nothing is sent")
    func unencodable() async throws {
        let before = server.requestsSeen
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.send(CurlRequest(url: server.baseURL + "/echo"), body: NotEncodable())
            })
        #expect(error.code == .unencodableBody)
        #expect(error.message.contains("NotEncodable"))
        #expect(error.cause is EncodingError)
        #expect(server.requestsSeen == before)
    }

    @Test("a header with a line break is an invalidRequest error")
    func invalidHeader() async throws {
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(
                    CurlRequest(url: server.baseURL + "/echo", headers: ["X-Evil": "a\r\nInjected: 1"]))
            })
        #expect(error.code == .invalidRequest)
        #expect(error.message.contains("X-Evil"))

        let badName = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: server.baseURL + "/echo", headers: ["Bad Name": "v"]))
            })
        #expect(badName.code == .invalidRequest)
        #expect(badName.message.contains("Bad Name"))

        let badToken = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: server.baseURL + "/echo", bearerToken: "t\n"))
            })
        #expect(badToken.code == .invalidRequest)
        #expect(badToken.message.contains("Authorization"))
    }

    @Test("a closed port is a transport error carrying curl's code and message")
    func connectionRefused() async throws {
        let port = try closedPort()
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: "http://127.0.0.1:\(port)/echo"))
            })
        #expect(error.code == .transport)
        #expect(error.curlCode == 7)
        #expect(error.message.contains("Failed to connect to 127.0.0.1 port \(port)"))
        #expect(error.description.contains("curl code 7"))
        #expect(error.status == nil)
    }

    @Test("decodeBody reads a non-2xx JSON body, and decode refuses it")
    func decodeBodyWhateverStatus() async throws {
        let url = server.baseURL + "/status/503"
        let response = try await client.perform(CurlRequest(url: url))
        let body = try response.decodeBody(as: ErrorBody.self, url: url)
        #expect(body.error.code == "status_503")
        let refused = try #require(
            await curlError { () async throws(CurlError) in try response.decode(ErrorBody.self, url: url) }
        )
        #expect(refused.code == .httpStatus)
        #expect(refused.status == 503)
        let garbage = try #require(
            await curlError { () async throws(CurlError) in try response.decodeBody(as: Payload.self, url: url) }
        )
        #expect(garbage.code == .undecodableBody)
        #expect(garbage.status == 503)
        #expect(garbage.url == url)
    }

    @Test("a server that never completes the TCP handshake hits the connect deadline")
    func connectTimeout() async throws {
        let listener = try FullBacklogListener()
        defer { listener.close() }
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(
                    CurlRequest(
                        url: "http://127.0.0.1:\(listener.port)/echo",
                        connectTimeout: .milliseconds(300),
                        timeout: .seconds(30)
                    )
                )
            }
        )
        let elapsed = clock.now - start
        #expect(error.code == .timeout)
        #expect(error.curlCode == 28)
        #expect(error.message.contains("Failed to connect to 127.0.0.1 port \(listener.port)"))
        #expect(error.message.contains("Timeout was reached"))
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(10))
    }

    @Test("a malformed URL is a transport error")
    func malformedURL() async throws {
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: "http://[not a host/"))
            })
        #expect(error.code == .transport)
        #expect(error.curlCode == 3)
        #expect(!error.message.isEmpty)
    }

    @Test("a hanging server times out in about the deadline")
    func totalTimeout() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: server.baseURL + "/hang", timeout: .milliseconds(500)))
            })
        let elapsed = clock.now - start
        #expect(error.code == .timeout)
        #expect(error.curlCode == 28)
        #expect(error.message.contains("timed out"))
        #expect(elapsed >= .milliseconds(450))
        // Generous: a loaded 2-core CI machine is slow; what matters is that it ends instead of hanging.
        #expect(elapsed < .seconds(10))
    }

    @Test("a slow answer within the deadline succeeds")
    func slowButInTime() async throws {
        let response = try await client.perform(CurlRequest(url: server.baseURL + "/delay/200", timeout: .seconds(5)))
        #expect(response.status == 200)
        #expect(response.bodyText == #"{"delayed":200}"#)
    }

    @Test("a body larger than the configured limit is a transport error")
    func bodyLimit() async throws {
        let small = try CurlClient(configuration: CurlClientConfiguration(maximumResponseBodySize: 1000))
        let fits = try await small.perform(CurlRequest(url: server.baseURL + "/large/1000"))
        #expect(fits.body.count == 1000)
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await small.perform(CurlRequest(url: server.baseURL + "/large/5000"))
            })
        #expect(error.code == .transport)
        #expect(error.message.contains("exceeds 1000 bytes"))
        #expect(error.curlCode == 23)
    }

    @Test("cancelling the task abandons a hanging transfer at once")
    func cancellation() async throws {
        let client = self.client
        let url = server.baseURL + "/hang"
        let task = Task { () async -> CurlError? in
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: url, timeout: .seconds(60)))
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        let error = try #require(await task.value)
        #expect(clock.now - start < .seconds(10))
        #expect(error.code == .cancelled)
        #expect(error.message.contains("cancelled"))
        #expect(error.url == url)

        // The client still works afterwards.
        let response = try await client.perform(CurlRequest(url: server.baseURL + "/echo"))
        #expect(response.status == 200)
    }

    @Test("a task cancelled before it performs fails without sending")
    func cancelledBeforeStart() async throws {
        let client = self.client
        let url = server.baseURL + "/echo"
        let before = server.requestsSeen
        let task = Task { () async -> CurlError? in
            try? await Task.sleep(for: .seconds(30))
            return await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: url))
            }
        }
        task.cancel()
        let error = try #require(await task.value)
        #expect(error.code == .cancelled)
        #expect(server.requestsSeen == before)
    }

    @Test("transfers in flight leave the cooperative pool free")
    func poolStaysFree() async throws {
        let client = self.client
        let url = server.baseURL + "/hang"
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Far more hanging transfers than the pool has threads; a blocking client would starve it.
            for _ in 0..<64 {
                group.addTask {
                    _ = try? await client.perform(CurlRequest(url: url, timeout: .seconds(30)))
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            let start = clock.now
            let sum = await Task.detached { (1...10_000).reduce(0, +) }.value
            #expect(sum == 50_005_000)
            #expect(clock.now - start < .seconds(5))
            group.cancelAll()
        }
    }

    @Test("100 concurrent requests with 5 hanging finish in about one deadline, not five")
    func concurrentWithHungAgents() async throws {
        let client = self.client
        let base = server.baseURL
        let deadline = Duration.seconds(2)
        let clock = ContinuousClock()
        let start = clock.now
        let outcomes = await withTaskGroup(of: (Int, CurlError.Code?).self) { group in
            for index in 0..<100 {
                let path = index % 20 == 7 ? "/hang" : "/echo"
                group.addTask {
                    let request = CurlRequest(url: base + path, connectTimeout: deadline, timeout: deadline)
                    do throws(CurlError) {
                        _ = try await client.get(request, as: TestHTTPServer.EchoReply.self)
                        return (index, nil)
                    } catch {
                        return (index, error.code)
                    }
                }
            }
            var all: [Int: CurlError.Code?] = [:]
            for await (index, code) in group {
                all[index] = code
            }
            return all
        }
        let elapsed = clock.now - start
        print("100 concurrent requests, 5 hanging, 2 s deadline: \(elapsed)")
        #expect(outcomes.count == 100)
        #expect(outcomes.values.filter { $0 == nil }.count == 95)
        #expect(outcomes.filter { $0.value == .timeout }.map(\.key).sorted() == [7, 27, 47, 67, 87])
        #expect(elapsed >= .milliseconds(1900))
        // One deadline if the hung requests overlap, five (10 s) if they ran one after another.
        #expect(elapsed < .seconds(8))
    }
}

@Suite("CurlClient over a unix-domain socket", .timeLimit(.minutes(1)))
struct CurlUnixSocketTests {
    @Test("requests reach a server listening on a unix socket")
    func unixSocket() async throws {
        let path = temporarySocketPath()
        let server = try TestHTTPServer(unixSocketPath: path)
        defer { server.stop() }
        let client = try CurlClient()
        let echo = try await client.send(
            CurlRequest(url: "http://localhost/echo", bearerToken: "tok", unixSocketPath: path),
            body: Payload(name: "u", count: 1, tags: []),
            as: TestHTTPServer.EchoReply.self
        )
        #expect(echo.method == "POST")
        #expect(echo.authorization == "Bearer tok")
        #expect(echo.body.contains(#""name":"u""#))
    }

    @Test("a missing unix socket is a transport error naming curl's failure")
    func missingSocket() async throws {
        let client = try CurlClient()
        let path = temporarySocketPath()
        let error = try #require(
            await curlError { () async throws(CurlError) in
                try await client.perform(CurlRequest(url: "http://localhost/echo", unixSocketPath: path))
            })
        #expect(error.code == .transport)
        #expect(error.curlCode == 7)
        #expect(!error.message.isEmpty)
    }
}

@Suite("CurlClient lifecycle and helpers")
struct CurlLifecycleTests {
    @Test("clients can be created and released repeatedly")
    func createAndRelease() async throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        for _ in 0..<20 {
            let client = try CurlClient(configuration: CurlClientConfiguration(userAgent: "lifecycle-test"))
            let response = try await client.perform(CurlRequest(url: server.baseURL + "/echo"))
            #expect(response.status == 200)
        }
    }

    @Test("durations become whole milliseconds of at least one")
    func milliseconds() {
        #expect(CurlEasy.milliseconds(.milliseconds(500)) == 500)
        #expect(CurlEasy.milliseconds(.seconds(2)) == 2000)
        #expect(CurlEasy.milliseconds(.microseconds(1500)) == 1)
        #expect(CurlEasy.milliseconds(.zero) == 1)
        #expect(CurlEasy.milliseconds(.seconds(-3)) == 1)
        #expect(CurlEasy.milliseconds(.seconds(Int64.max)) == Int.max)
    }

    @Test("a 2xx response decodes, and error descriptions name code, method and URL")
    func responseAndErrorHelpers() throws {
        let response = CurlResponse(
            status: 201, headers: ["x-a": "1"], body: Array(#"{"name":"n","count":2,"tags":[]}"#.utf8))
        #expect(try response.decode(Payload.self) == Payload(name: "n", count: 2, tags: []))
        #expect(response.header("X-A") == "1")
        let error = CurlError(code: .timeout, message: "late", method: "GET", url: "http://h/x", curlCode: 28)
        #expect(error.description == "timeout: GET http://h/x: late (curl code 28)")
        #expect(CurlError.Code(rawValue: "timeout") == .timeout)
    }
}

/// A listener with a backlog of zero whose accept queue is filled by connections it never accepts, so the
/// kernel drops further SYNs and new connections hang in the handshake.
private struct FullBacklogListener {
    let port: Int
    private let descriptors: [Int32]

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 0) == 0
                    ? getsockname(listener, pointer, &length) : -1
            }
        }
        guard bound == 0 else {
            Glibc.close(listener)
            throw TestServerError("cannot set up the full-backlog listener")
        }
        var descriptors = [listener]
        // Fill the accept queue (backlog 0 still admits one or two); connections past it stay in SYN_SENT.
        for _ in 0..<4 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            descriptors.append(filler)
        }
        usleep(50_000)
        self.descriptors = descriptors
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        for descriptor in descriptors {
            Glibc.close(descriptor)
        }
    }
}
