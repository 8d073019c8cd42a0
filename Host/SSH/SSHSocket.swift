import Glibc

/// Opens TCP connections with a deadline (non-blocking `connect` + `poll`).
enum SSHSocket {
    /// Connects to `host:port`, trying each resolved address until one answers or the deadline passes.
    /// - Returns: A connected socket descriptor (non-blocking, close-on-exec) owned by the caller.
    /// - Throws: `SSHError` with kind `.resolveFailed`, `.connectionRefused`, `.connectTimeout` or
    ///   `.connectFailed`.
    static func connect(host: String, port: Int, deadline: ContinuousClock.Instant) throws(SSHError) -> Int32 {
        let target = "\(host):\(port)"
        guard (1...65535).contains(port) else {
            throw SSHError(kind: .connectFailed(errno: EINVAL), message: "invalid port \(port)", function: "connect")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            let reason = String(cString: gai_strerror(resolved))
            throw SSHError(kind: .resolveFailed, message: "cannot resolve \(host): \(reason)", function: "getaddrinfo")
        }
        defer { freeaddrinfo(first) }

        var lastError = SSHError(
            kind: .connectFailed(errno: 0), message: "no address for \(target)", function: "connect")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype | flags, info.pointee.ai_protocol)
            if descriptor < 0 {
                lastError = classify(errno, target: target, function: "socket")
                continue
            }
            if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                return descriptor
            }
            let started = errno
            guard started == EINPROGRESS else {
                Glibc.close(descriptor)
                lastError = classify(started, target: target, function: "connect")
                continue
            }
            do {
                try waitWritable(descriptor, deadline: deadline, target: target)
            } catch {
                Glibc.close(descriptor)
                throw error
            }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) != 0 {
                socketError = errno
            }
            if socketError == 0 {
                return descriptor
            }
            Glibc.close(descriptor)
            lastError = classify(socketError, target: target, function: "connect")
        }
        throw lastError
    }

    private static func waitWritable(
        _ descriptor: Int32, deadline: ContinuousClock.Instant, target: String
    ) throws(SSHError) {
        while true {
            let remaining = (deadline - ContinuousClock.now).wholeMilliseconds
            guard remaining > 0 else {
                throw SSHError(
                    kind: .connectTimeout, message: "TCP connection to \(target) did not complete in time",
                    function: "connect")
            }
            var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&entry, 1, Int32(min(remaining, 1000)))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw classify(errno, target: target, function: "poll")
            }
        }
    }

    private static func classify(_ number: Int32, target: String, function: String) -> SSHError {
        let reason = String(cString: strerror(number))
        switch number {
        case ECONNREFUSED:
            return SSHError(kind: .connectionRefused, message: "\(target): \(reason)", function: function)
        case ETIMEDOUT:
            return SSHError(kind: .connectTimeout, message: "\(target): \(reason)", function: function)
        default:
            return SSHError(kind: .connectFailed(errno: number), message: "\(target): \(reason)", function: function)
        }
    }
}
