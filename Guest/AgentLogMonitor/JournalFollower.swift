package import AgentBasics
import NIOPosix
import Systemd

/// One journal entry the error monitor reads: its cursor, its message and where it came from.
package struct JournalLine: Sendable {
    package var cursor: String
    package var message: String
    /// `journal:<SYSLOG_IDENTIFIER>`, else `journal:<unit>`, else `journal`.
    package var source: String
}

/// Follows the systemd journal from a persisted cursor (or from its end on first run), skipping the agent's own
/// entries, and hands out batches of new entries.
///
/// `@unchecked Sendable`: the wrapped ``SystemdJournal`` is not thread-safe, but only the error monitor holds a
/// follower and it awaits each ``read(maximum:)`` before the next, so the handle is never used by two threads at
/// once; the pool hop only moves the blocking calls off the cooperative pool.
package final class JournalFollower: @unchecked Sendable {
    private let journal: SystemdJournal
    /// The agent's own syslog identifier: its own log lines are not classified.
    package static let ownIdentifier = "somnus-agent"
    /// The agent's unit: its entries without an identifier are the agent's own output. Entries with another
    /// identifier come from its exec jobs (which run in the unit's cgroup) and are classified like any other.
    package static let ownUnit = "somnus-agent.service"

    /// Opens the local journal (or a directory of journal files) and positions it after `cursor`, or at the end
    /// when `cursor` is `nil` or no longer valid.
    /// - Throws: ``AgentError`` (`io_error`) with libsystemd's message when the journal cannot be opened.
    package init(directory: String? = nil, cursor: String?) throws(AgentError) {
        do {
            journal = try directory.map { try SystemdJournal(directory: $0) } ?? SystemdJournal()
        } catch {
            throw AgentError(.io, "cannot open the systemd journal: \(error)", cause: error)
        }
        do {
            if let cursor {
                try journal.seek(after: cursor)
            } else {
                try journal.seekTail()
            }
        } catch {
            do {
                try journal.seekTail()
            } catch {
                throw AgentError(.io, "cannot seek in the systemd journal: \(error)", cause: error)
            }
        }
    }

    /// Reads up to `maximum` new entries on the thread pool.
    /// - Returns: The entries (the agent's own left out) and the cursor of the last entry read, `nil` when none.
    /// - Throws: ``AgentError`` (`io_error`) when the journal cannot be read.
    package func read(maximum: Int) async throws(AgentError) -> (lines: [JournalLine], cursor: String?) {
        let result: Result<([JournalLine], String?), SystemdError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                var lines: [JournalLine] = []
                var cursor: String?
                do throws(SystemdError) {
                    while lines.count < maximum, let entry = try self.journal.next() {
                        cursor = entry.cursor
                        if let identifier = entry.identifier {
                            if identifier == Self.ownIdentifier { continue }
                        } else if entry.unit == Self.ownUnit {
                            continue
                        }
                        let name = entry.identifier ?? entry.unit
                        lines.append(
                            JournalLine(
                                cursor: entry.cursor, message: entry.message,
                                source: name.map { "journal:\($0)" } ?? "journal"))
                    }
                } catch {
                    return .failure(error)
                }
                return .success((lines, cursor))
            }
        } catch {
            throw AgentError(.internal, "the thread pool is not running", cause: error)
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw AgentError(.io, "cannot read the systemd journal: \(error)", cause: error)
        }
    }
}
