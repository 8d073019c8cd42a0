import Foundation
import Synchronization

/// A progress indicator for waits longer than a second, written to standard error.
///
/// On a terminal it is one line rewritten in place with the elapsed seconds; otherwise it prints a plain line
/// whenever the message changes and every ten seconds while it does not. With `--json` it stays silent, so
/// nothing but the result reaches a script.
final class ProgressLine: Sendable {
    private struct State {
        var message = ""
        var printedMessage = ""
        var lastPrinted = ContinuousClock.now
        var active = false
    }

    private let enabled: Bool
    private let terminal: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    /// Creates an indicator.
    /// - Parameters:
    ///   - enabled: `false` for `--json` (silent).
    ///   - terminal: Whether standard error is a terminal; probed when `nil`.
    init(enabled: Bool, terminal: Bool? = nil) {
        self.enabled = enabled
        self.terminal = terminal ?? (isatty(STDERR_FILENO) == 1)
    }

    /// Sets the current message and shows it.
    func update(_ message: String) {
        guard enabled else { return }
        state.withLock { $0.message = message }
        startTicking()
        render(force: true)
    }

    /// Ends the indicator, clearing the in-place line and printing `message` when given.
    func finish(_ message: String? = nil) {
        ticker.withLock { task in
            task?.cancel()
            task = nil
        }
        guard enabled else { return }
        let wasActive = state.withLock { state in
            defer { state.active = false }
            return state.active
        }
        if terminal && wasActive {
            write("\r\u{1B}[K")
        }
        if let message {
            write(message + "\n")
        }
    }

    private func startTicking() {
        ticker.withLock { task in
            guard task == nil else { return }
            task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    self?.render(force: false)
                }
            }
        }
    }

    private func render(force: Bool) {
        let elapsed = Int((ContinuousClock.now - started).components.seconds)
        let line: String? = state.withLock { state in
            if terminal {
                state.active = true
                return "\r\u{1B}[K\(state.message) … \(elapsed) s"
            }
            let now = ContinuousClock.now
            let changed = state.message != state.printedMessage
            guard changed || (!force && now - state.lastPrinted >= .seconds(10)) else { return nil }
            state.printedMessage = state.message
            state.lastPrinted = now
            return "\(state.message) (\(elapsed) s)\n"
        }
        if let line {
            write(line)
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
