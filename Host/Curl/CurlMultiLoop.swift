internal import CCurl
internal import CCurlShim
internal import Foundation
internal import Synchronization

/// One transfer handed to the loop: the configured easy handle and the continuation waiting for it.
struct CurlTransfer: @unchecked Sendable {
    // @unchecked: `easy` is not thread-safe, but ownership moves exactly once, from the submitting task to the
    // loop thread (through the mutex-protected queue, which orders the accesses); nobody else keeps it.
    let id: UInt64
    let easy: CurlEasy
    let continuation: CheckedContinuation<Result<CurlResponse, CurlError>, Never>
}

/// Owns a curl multi handle and the one dedicated thread that drives it.
///
/// Tasks submit transfers and cancellations into a mutex-protected inbox and wake the thread with
/// `curl_multi_wakeup`; the thread adds them to the multi handle, runs `curl_multi_perform`, waits in
/// `curl_multi_poll`, and resumes each transfer's continuation when curl reports it done. No curl call ever
/// runs on Swift's cooperative pool except the cheap, non-blocking easy-handle setup and the wakeup.
final class CurlMultiLoop: Sendable {
    private enum Phase {
        /// The caller has an id but has not submitted yet.
        case reserved
        /// The caller's task was cancelled before it submitted.
        case cancelledEarly
        /// The transfer is in the inbox or on the multi handle.
        case submitted
    }

    private struct State {
        var nextID: UInt64 = 0
        var phases: [UInt64: Phase] = [:]
        var inbox: [CurlTransfer] = []
        var cancellations: [UInt64] = []
        var isShutDown = false
    }

    private let multi: CurlMulti
    private let state = Mutex(State())

    /// Creates the multi handle and starts the loop thread.
    /// - Throws: ``CurlError/Code/transport`` when curl cannot be initialised.
    init(configuration: CurlClientConfiguration) throws(CurlError) {
        multi = try CurlMulti(configuration: configuration)
        let thread = Thread { [self] in
            self.run()
        }
        thread.name = "somnus-curl-multi"
        thread.start()
    }

    /// Reserves an id for a transfer about to be submitted, so a cancellation that arrives first is not lost.
    func reserve() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            state.phases[state.nextID] = .reserved
            return state.nextID
        }
    }

    /// Hands a configured transfer to the loop thread, or fails it at once if its task was already cancelled or
    /// the loop has stopped.
    func submit(_ transfer: CurlTransfer) {
        let refusal: CurlError.Code? = state.withLock { state in
            let phase = state.phases[transfer.id]
            guard phase == .reserved, !state.isShutDown else {
                state.phases[transfer.id] = nil
                return phase == .cancelledEarly ? .cancelled : .shutDown
            }
            state.phases[transfer.id] = .submitted
            state.inbox.append(transfer)
            return nil
        }
        if let refusal {
            transfer.continuation.resume(returning: .failure(Self.abandoned(transfer.easy, code: refusal)))
        } else {
            multi.wakeUp()
        }
    }

    /// Asks the loop to abandon a transfer; does nothing if it already finished.
    func cancel(_ id: UInt64) {
        let needsWakeUp: Bool = state.withLock { state in
            switch state.phases[id] {
            case .reserved:
                state.phases[id] = .cancelledEarly
                return false
            case .submitted:
                state.cancellations.append(id)
                return true
            case .cancelledEarly, nil:
                return false
            }
        }
        if needsWakeUp {
            multi.wakeUp()
        }
    }

    /// Stops the loop: transfers still running fail with ``CurlError/Code/shutDown``, and the thread exits.
    func shutDown() {
        state.withLock { $0.isShutDown = true }
        multi.wakeUp()
    }

    // MARK: Loop thread

    private func run() {
        var active: [UInt64: CurlTransfer] = [:]
        var idsByHandle: [UnsafeMutableRawPointer: UInt64] = [:]

        func finish(_ id: UInt64, _ outcome: Result<CurlResponse, CurlError>) {
            guard let transfer = active.removeValue(forKey: id) else { return }
            idsByHandle[transfer.easy.handle] = nil
            multi.remove(transfer.easy)
            complete(transfer, outcome)
        }

        while true {
            let (inbox, cancellations, stopping) = state.withLock { state in
                defer {
                    state.inbox = []
                    state.cancellations = []
                }
                return (state.inbox, state.cancellations, state.isShutDown)
            }
            for transfer in inbox {
                if let failure = multi.add(transfer.easy) {
                    complete(transfer, .failure(failure))
                } else {
                    active[transfer.id] = transfer
                    idsByHandle[transfer.easy.handle] = transfer.id
                }
            }
            for id in cancellations {
                if let transfer = active[id] {
                    finish(id, .failure(Self.abandoned(transfer.easy, code: .cancelled)))
                }
            }
            if stopping {
                for (id, transfer) in active {
                    finish(id, .failure(Self.abandoned(transfer.easy, code: .shutDown)))
                }
                return
            }
            if let failure = multi.perform() {
                // The multi handle itself failed: fail everything rather than spin.
                for (id, transfer) in active {
                    finish(id, .failure(Self.multiFailure(transfer.easy, message: failure)))
                }
            }
            while let (handle, result) = multi.nextDone() {
                guard let id = idsByHandle[handle], let transfer = active[id] else { continue }
                finish(id, transfer.easy.outcome(result: result))
            }
            if let failure = multi.poll(timeoutMilliseconds: active.isEmpty ? 30_000 : 1_000) {
                for (id, transfer) in active {
                    finish(id, .failure(Self.multiFailure(transfer.easy, message: failure)))
                }
            }
        }
    }

    private func complete(_ transfer: CurlTransfer, _ outcome: Result<CurlResponse, CurlError>) {
        state.withLock { _ = $0.phases.removeValue(forKey: transfer.id) }
        transfer.continuation.resume(returning: outcome)
    }

    private static func abandoned(_ easy: CurlEasy, code: CurlError.Code) -> CurlError {
        let message =
            code == .cancelled
            ? "the calling task was cancelled; the transfer was abandoned"
            : "the curl client was shut down before the transfer finished"
        return CurlError(code: code, message: message, method: easy.method.rawValue, url: easy.url)
    }

    private static func multiFailure(_ easy: CurlEasy, message: String) -> CurlError {
        CurlError(code: .transport, message: message, method: easy.method.rawValue, url: easy.url)
    }
}

/// Owns a curl multi handle (`CURLM *`).
final class CurlMulti: @unchecked Sendable {
    // @unchecked: every member except `wakeUp` is called only from the loop thread (and `init`/`deinit`, which
    // cannot overlap it); `curl_multi_wakeup` is documented as safe to call from any thread.
    private let handle: UnsafeMutableRawPointer

    init(configuration: CurlClientConfiguration) throws(CurlError) {
        if let failure = CurlGlobal.ensureInitialized() {
            throw CurlError(code: .transport, message: "curl_global_init failed: \(failure)", method: "", url: "")
        }
        guard let handle = curl_multi_init() else {
            throw CurlError(code: .transport, message: "curl_multi_init returned no handle", method: "", url: "")
        }
        self.handle = handle
        try check("CURLMOPT_MAX_TOTAL_CONNECTIONS") {
            somnus_curl_multi_setopt_long(handle, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maximumTotalConnections)
        }
        try check("CURLMOPT_MAXCONNECTS") {
            somnus_curl_multi_setopt_long(handle, CURLMOPT_MAXCONNECTS, configuration.maximumCachedConnections)
        }
    }

    deinit {
        curl_multi_cleanup(handle)
    }

    /// Interrupts a running or the next `curl_multi_poll`. Safe from any thread.
    func wakeUp() {
        _ = curl_multi_wakeup(handle)
    }

    /// Adds an easy handle. - Returns: an error when curl refuses it.
    func add(_ easy: CurlEasy) -> CurlError? {
        let code = curl_multi_add_handle(handle, easy.handle)
        guard code != CURLM_OK else { return nil }
        return CurlError(
            code: .transport,
            message: "curl_multi_add_handle failed: \(Self.message(code))",
            method: easy.method.rawValue,
            url: easy.url,
            curlCode: Int(code.rawValue)
        )
    }

    /// Removes an easy handle, finished or not.
    func remove(_ easy: CurlEasy) {
        _ = curl_multi_remove_handle(handle, easy.handle)
    }

    /// Runs curl's state machines. - Returns: curl's message when the multi handle failed.
    func perform() -> String? {
        var running: Int32 = 0
        let code = curl_multi_perform(handle, &running)
        return code == CURLM_OK ? nil : "curl_multi_perform failed: \(Self.message(code))"
    }

    /// The next finished transfer's easy handle and result, or `nil` when none is waiting.
    func nextDone() -> (UnsafeMutableRawPointer, CURLcode)? {
        var easy: UnsafeMutableRawPointer?
        var result = CURLE_OK
        guard somnus_curl_multi_next_done(handle, &easy, &result) == 1, let easy else { return nil }
        return (easy, result)
    }

    /// Waits for socket activity, curl's next timeout, a wake-up, or `timeoutMilliseconds`, whichever is first.
    /// - Returns: curl's message when polling failed.
    func poll(timeoutMilliseconds: Int32) -> String? {
        let code = curl_multi_poll(handle, nil, 0, timeoutMilliseconds, nil)
        return code == CURLM_OK ? nil : "curl_multi_poll failed: \(Self.message(code))"
    }

    /// The checker for multi option calls.
    private func check(_ what: String, _ call: () -> CURLMcode) throws(CurlError) {
        let code = call()
        guard code != CURLM_OK else { return }
        throw CurlError(
            code: .transport,
            message: "\(what) failed: \(Self.message(code))",
            method: "",
            url: "",
            curlCode: Int(code.rawValue)
        )
    }

    private static func message(_ code: CURLMcode) -> String {
        String(cString: curl_multi_strerror(code))
    }
}
