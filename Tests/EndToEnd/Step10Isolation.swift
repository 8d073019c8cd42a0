import Foundation
import Testing

extension EndToEndTests {
    /// The second VM of the isolation step.
    static let neighbour = "e2e-b"
    /// The host's address on the `somnus` bridge.
    static let bridgeAddress = "192.168.213.1"

    /// Step 10: with a second VM on the bridge, the first (a hostile guest with root) cannot reach the second's
    /// agent or sshd, cannot reach a listener on the host's bridge address, and cannot divert the host's polls
    /// of the second by claiming its address; both agents stay healthy. `e2e-b` is deleted even on failure.
    func isolationStep(vm: String) throws {
        let other = Self.neighbour
        _ = try somnus(["down", other])
        defer { _ = try? somnus(["down", other]) }
        let up = try step("10. second VM \(other) up") {
            try somnus(["up", other, "--agent-binary", EndToEnd.agent, "--json"])
        }
        #expect(up.status == 0, "somnus up \(other) failed: \(up.stderr)")
        guard up.status == 0 else { return }
        let summary = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
        let addressB = try #require(summary?["address"] as? String)
        let (interfaceA, addressA) = try Self.guestAddress(vm)
        print("e2e: \(vm) is \(addressA) on \(interfaceA), \(other) is \(addressB)")
        #expect(addressA != addressB)

        try step("10a. from \(vm): TCP to \(other)'s agent (9901) and sshd (22) fails") {
            for port in [9901, 22] {
                let probe = try Self.tcpProbe(from: vm, to: addressB, port: port)
                #expect(!probe.connected, "\(vm) reached \(addressB):\(port): \(probe.detail)")
                // Isolated ports: ARP for the neighbour never gets an answer ("No route to host"), or the
                // connection attempt times out; either way no TCP handshake.
                #expect(
                    probe.detail.contains("No route to host") || probe.detail.contains("timed out"),
                    "unexpected refusal from \(addressB):\(port): \(probe.detail)")
                print("e2e: \(vm) → \(addressB):\(port): \(probe.detail)")
            }
        }

        try step("10b. from \(vm): a listener on the host's bridge address \(Self.bridgeAddress) is unreachable") {
            let listener = try HostListener(address: Self.bridgeAddress)
            // Control: the host itself reaches the listener, so only the path from the guest is closed.
            #expect(listener.hostCanConnect(), "the host cannot reach its own listener on port \(listener.port)")
            let probe = try Self.tcpProbe(from: vm, to: Self.bridgeAddress, port: listener.port)
            #expect(!probe.connected, "\(vm) reached the host's \(Self.bridgeAddress):\(listener.port)")
            #expect(probe.detail.contains("timed out"), "expected a silent drop: \(probe.detail)")
            #expect(listener.acceptPending() == 0, "a guest's connection reached the host listener")
            print("e2e: \(vm) → \(Self.bridgeAddress):\(listener.port): \(probe.detail)")
        }

        try step("10c. \(vm) claims \(other)'s address; the host's polls still reach \(other)") {
            let bootB = try somnus(["exec", other, "--", "cat", "/proc/sys/kernel/random/boot_id"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            // The host's neighbour entry for B before the claim: B's own MAC address.
            _ = try somnus(["agent", "status", other, "--json"])
            let macB = Self.hostNeighbourMAC(addressB)
            print("e2e: the host resolves \(addressB) to \(macB ?? "nothing")")
            // A answers ARP for B's address from now on (the kernel replies for any local address); the gratuitous
            // ARP tools (arping, python) are not in the image, so the host's neighbour entry is flushed before each
            // sweep to make it ask again, with both guests answering.
            let claim = try somnus([
                "exec", vm, "--", "sh", "-c",
                "ip addr add \(addressB)/24 dev \(interfaceA) && ip -4 -o addr show dev \(interfaceA)",
            ])
            #expect(claim.status == 0, "\(vm) could not add \(addressB): \(claim.stderr)")
            #expect(claim.stdout.contains(addressB))
            defer { _ = try? somnus(["exec", vm, "--", "ip", "addr", "del", "\(addressB)/24", "dev", interfaceA]) }
            for sweep in 1...3 {
                _ = Self.host("ip", ["neigh", "flush", "to", addressB, "dev", "virbr-somnus"])
                let status = try somnus(["agent", "status", other, "--json"])
                #expect(status.status == 0, "sweep \(sweep): \(other)'s agent did not answer: \(status.stderr)")
                let answer = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
                #expect(
                    answer?["boot_id"] as? String == bootB,
                    "sweep \(sweep): the agent at \(addressB) is not \(other)'s (boot id \(answer?["boot_id"] ?? "?"))")
                let states = try Self.healthStates()
                #expect(states[vm] == "healthy" && states[other] == "healthy", "sweep \(sweep): \(states)")
                if let macB {
                    let now = Self.hostNeighbourMAC(addressB)
                    #expect(
                        now == nil || now == macB, "sweep \(sweep): \(addressB) resolves to \(now ?? "?"), not \(macB)")
                }
            }
        }

        try step("10d. a capture on the bridge during polls, exec and memory calls: no token, no body (mutual TLS)") {
            let tokenB = try String(
                contentsOfFile: EndToEnd.stateDirectory + "/vms/\(other)/agent.token", encoding: .utf8
            ).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(tokenB.count == 64)
            let marker = "somnus-e2e-body-\(UUID().uuidString)"
            let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-e2e-\(UUID()).pcap").path
            defer { try? FileManager.default.removeItem(atPath: pcap) }
            // A direct child; it inherits this process's blocked INT and TERM, so it is killed, and `-U` has
            // written every packet by then.
            let tcpdump = Process()
            tcpdump.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tcpdump.arguments = ["tcpdump", "-i", "virbr-somnus", "-U", "-s", "0", "-w", pcap, "tcp", "port", "9901"]
            tcpdump.standardOutput = FileHandle.nullDevice
            tcpdump.standardError = FileHandle.nullDevice
            try tcpdump.run()
            Thread.sleep(forTimeInterval: 2)
            let health = try somnus(["health", "--json"])
            // A memory written and found again from the host: the fact is in exec's request and response bodies.
            let added = try somnus(["exec", other, "--", "somnus-agent", "memory", "add", "--namespace", "e2e", marker])
            let exec = try somnus([
                "exec", other, "--", "somnus-agent", "memory", "search", "--namespace", "e2e", marker,
            ])
            Thread.sleep(forTimeInterval: 1)
            kill(tcpdump.processIdentifier, SIGKILL)
            tcpdump.waitUntilExit()
            #expect(health.status == 0)
            #expect(added.status == 0, "memory add: \(added.stdout) \(added.stderr)")
            #expect(exec.status == 0 && exec.stdout.contains(marker), "memory search: \(exec.stdout) \(exec.stderr)")
            let bytes = FileManager.default.contents(atPath: pcap) ?? Data()
            print("e2e: host-side capture on virbr-somnus during health, exec and memory calls: \(bytes.count) bytes")
            #expect(bytes.count > 2_000, "the capture saw no agent traffic (\(bytes.count) bytes)")
            #expect(bytes.range(of: Data(tokenB.utf8)) == nil, "\(other)'s token crossed the bridge in clear")
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "a request or response body crossed the bridge in clear")
            #expect(bytes.range(of: Data("Authorization".utf8)) == nil, "an HTTP header crossed the bridge in clear")
            let states = try Self.healthStates()
            #expect(states[vm] == "healthy" && states[other] == "healthy", "\(states)")
        }
    }

    /// The guest's interface name and IPv4 address on the VM network.
    static func guestAddress(_ vm: String) throws -> (interface: String, address: String) {
        let result = try somnus(["exec", vm, "--", "ip", "-4", "-o", "addr", "show", "scope", "global"])
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 4, fields[2] == "inet", let address = fields[3].split(separator: "/").first {
                return (String(fields[1]), String(address))
            }
        }
        throw CLIFailure(message: "no IPv4 address in \(vm): \(result.stdout) \(result.stderr)")
    }

    /// A TCP connection attempt from inside a guest (bash's /dev/tcp, 5 s limit).
    static func tcpProbe(from vm: String, to address: String, port: Int) throws -> (connected: Bool, detail: String) {
        let result = try somnus([
            "exec", vm, "--", "bash", "-c",
            "timeout 5 bash -c 'exec 3<>/dev/tcp/\(address)/\(port) && echo CONNECTED' 2>&1; "
                + "rc=$?; [ $rc -eq 124 ] && echo 'connection attempt timed out'; exit 0",
        ])
        let detail = (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        return (detail.contains("CONNECTED"), detail)
    }

    /// Runs a host command, returning its stdout (empty on failure). Output goes through a temporary file, not a
    /// pipe, so a background process that inherits the descriptor cannot hold the read open.
    @discardableResult
    static func host(_ tool: String, _ arguments: [String]) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("somnus-e2e-\(UUID()).out").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let output = FileHandle(forWritingAtPath: path)
        else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        process.waitUntilExit()
        try? output.close()
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// The MAC address the host's neighbour table has for `address` on the bridge, if any.
    static func hostNeighbourMAC(_ address: String) -> String? {
        let fields = host("ip", ["neigh", "show", "to", address, "dev", "virbr-somnus"]).split(separator: " ")
        guard let index = fields.firstIndex(of: "lladdr"), index + 1 < fields.count else { return nil }
        return String(fields[index + 1])
    }

    /// Each VM's health state from one `somnus health --json` sweep.
    static func healthStates() throws -> [String: String] {
        let health = try somnus(["health", "--json"])
        let rows = (try? JSONSerialization.jsonObject(with: Data(health.stdout.utf8)) as? [[String: Any]]) ?? []
        var states: [String: String] = [:]
        for row in rows {
            if let name = row["vm"] as? String, let state = row["state"] as? String { states[name] = state }
        }
        return states
    }
}

/// A failure of the test's own plumbing, with what was seen.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A TCP listener on a host address, in this process (a listener started through a shell would outlive it and
/// keep `Process.waitUntilExit` of that shell waiting): connections are only ever taken with a non-blocking
/// `accept`, so a guest's connection would be counted, never served.
final class HostListener {
    let port: Int
    private let descriptor: Int32

    init(address: String) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = 0
        guard descriptor >= 0, inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            throw CLIFailure(message: "cannot make a listener socket for \(address)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw CLIFailure(message: "cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: socketAddress.sin_port))
    }

    deinit {
        close(descriptor)
    }

    /// The control: the host's own connection to the listener is accepted (only the path from a guest is closed).
    func hostCanConnect() -> Bool {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) == 0 }
        }
        let connected = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
        }
        return named && connected && acceptPending() == 1
    }

    /// How many connections wait to be accepted (each is accepted and closed).
    func acceptPending() -> Int {
        var count = 0
        for _ in 0..<20 {
            let accepted = accept(descriptor, nil, nil)
            if accepted < 0 { break }
            close(accepted)
            count += 1
        }
        return count
    }
}
