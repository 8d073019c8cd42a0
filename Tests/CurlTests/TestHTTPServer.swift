import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small HTTP/1.1 server over POSIX sockets for the tests: one thread accepts, one thread per connection,
/// `Connection: close` on every answer. Listens on 127.0.0.1 (port 0) or on a unix-domain socket.
///
/// Routes (any method):
/// - `/echo`: 200 with a JSON ``EchoReply`` describing the request.
/// - `/mirror`: 200 with the request body as the response body.
/// - `/status/<code>`: that status with the JSON error body `{"error":{"code":"status_<code>","message":…}}`.
/// - `/delay/<ms>`: waits, then 200 `{"delayed":<ms>}`.
/// - `/hang`: never answers; returns once the client closes the connection or the server stops.
/// - `/garbage`: 200 with a body that is not JSON.
/// - `/large/<bytes>`: 200 with that many bytes.
/// - anything else: 404 with the JSON error body.
final class TestHTTPServer: Sendable {
    /// What `/echo` answers.
    struct EchoReply: Codable, Equatable {
        var method: String
        var path: String
        var authorization: String?
        var contentType: String?
        var body: String
    }

    /// The TCP port, or 0 for a unix-socket server.
    let port: Int
    /// The unix socket path, or `nil` for a TCP server.
    let unixSocketPath: String?
    /// The base URL to put in requests.
    var baseURL: String { unixSocketPath == nil ? "http://127.0.0.1:\(port)" : "http://localhost" }

    private let listenSocket: Int32
    private let stopped = Atomic<Bool>(false)
    private let requestCount = Atomic<Int>(0)

    /// How many requests the server has read so far.
    var requestsSeen: Int { requestCount.load(ordering: .relaxed) }

    /// Starts a server on 127.0.0.1 with a kernel-chosen port.
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw TestServerError("bind/listen: \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenSocket = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        unixSocketPath = nil
        startAccepting()
    }

    /// Starts a server on a unix-domain socket at `path` (which must not exist).
    init(unixSocketPath path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw TestServerError("unix socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw TestServerError("bind/listen \(path): \(message)")
        }
        listenSocket = fd
        port = 0
        unixSocketPath = path
        startAccepting()
    }

    /// Stops accepting, releases hanging connections and removes the unix socket file.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listenSocket, Int32(SHUT_RDWR))
        close(listenSocket)
        if let unixSocketPath {
            unlink(unixSocketPath)
        }
    }

    deinit {
        stop()
    }

    // MARK: Serving

    private func startAccepting() {
        let listenSocket = self.listenSocket
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .acquiring) {
                let client = accept(listenSocket, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                Thread.detachNewThread { [self] in
                    serve(client)
                    close(client)
                }
            }
        }
    }

    private func serve(_ socket: Int32) {
        guard let request = readRequest(socket) else { return }
        requestCount.add(1, ordering: .relaxed)
        let path = request.target
        let errorBody = { (status: Int) -> [UInt8] in
            Array(#"{"error":{"code":"status_\#(status)","message":"forced status \#(status)"}}"#.utf8)
        }
        switch true {
        case path == "/echo":
            let reply = EchoReply(
                method: request.method,
                path: path,
                authorization: request.headers["authorization"],
                contentType: request.headers["content-type"],
                body: String(decoding: request.body, as: UTF8.self)
            )
            let body = (try? JSONEncoder().encode(reply)).map { Array($0) } ?? []
            respond(socket, status: 200, body: body)
        case path == "/mirror":
            respond(socket, status: 200, body: request.body)
        case path.hasPrefix("/status/"):
            let status = Int(path.dropFirst("/status/".count)) ?? 500
            respond(socket, status: status, body: errorBody(status))
        case path.hasPrefix("/delay/"):
            let milliseconds = Int(path.dropFirst("/delay/".count)) ?? 0
            usleep(useconds_t(milliseconds * 1000))
            respond(socket, status: 200, body: Array(#"{"delayed":\#(milliseconds)}"#.utf8))
        case path == "/hang":
            waitForClose(socket)
        case path == "/garbage":
            respond(socket, status: 200, body: Array("this is {not json".utf8))
        case path.hasPrefix("/large/"):
            let size = Int(path.dropFirst("/large/".count)) ?? 0
            respond(socket, status: 200, body: [UInt8](repeating: UInt8(ascii: "a"), count: size))
        default:
            respond(socket, status: 404, body: errorBody(404))
        }
    }

    private struct Request {
        var method: String
        var target: String
        var headers: [String: String]
        var body: [UInt8]
    }

    private func readRequest(_ socket: Int32) -> Request? {
        var buffer: [UInt8] = []
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            guard let chunk = receive(socket), buffer.count < 1 << 20 else { return nil }
            buffer.append(contentsOf: chunk)
            if buffer.count >= 4 {
                headerEnd = (0...(buffer.count - 4)).first { buffer[$0..<($0 + 4)].elementsEqual(terminator) }
            }
        }
        guard let headerEnd else { return nil }
        let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(buffer[(headerEnd + 4)...])
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        while body.count < length {
            guard let chunk = receive(socket) else { return nil }
            body.append(contentsOf: chunk)
        }
        return Request(
            method: String(requestLine[0]),
            target: String(requestLine[1]),
            headers: headers,
            body: body
        )
    }

    /// Reads what is available; `nil` on end of stream or error.
    private func receive(_ socket: Int32) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Array(chunk[..<count])
    }

    private func waitForClose(_ socket: Int32) {
        while !stopped.load(ordering: .acquiring) {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready > 0 {
                var byte: UInt8 = 0
                if recv(socket, &byte, 1, 0) <= 0 { return }
            } else if ready < 0, errno != EINTR {
                return
            }
        }
    }

    private func respond(_ socket: Int32, status: Int, body: [UInt8]) {
        let head =
            "HTTP/1.1 \(status) Test\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
            + "X-Test-Server: somnus\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: body)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }
}

/// A failure to set up the test server.
struct TestServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
