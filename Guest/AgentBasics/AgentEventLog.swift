package import AgentAPI
import FoundationEssentials
import Synchronization

/// A bounded ring of agent events with a monotonically increasing cursor; the oldest event is dropped when
/// the ring is full.
package final class AgentEventLog: Sendable {
    /// How many events the ring keeps.
    package let capacity: Int
    private let storage = Mutex<(events: [AgentEvent], lastCursor: Int)>(([], 0))

    package init(capacity: Int = 1000) {
        self.capacity = max(1, capacity)
    }

    /// Appends an event and returns its cursor.
    @discardableResult
    package func record(_ kind: String, _ message: String, metadata: [String: String] = [:]) -> Int {
        let time = Date().timeIntervalSince1970
        return storage.withLock { storage in
            storage.lastCursor += 1
            storage.events.append(
                AgentEvent(cursor: storage.lastCursor, time: time, kind: kind, message: message, metadata: metadata))
            if storage.events.count > capacity {
                storage.events.removeFirst(storage.events.count - capacity)
            }
            return storage.lastCursor
        }
    }

    /// Up to `limit` events with a cursor greater than `after`, oldest first.
    package func events(after: Int, limit: Int) -> EventsResponse {
        storage.withLock { storage in
            let selected = Array(storage.events.lazy.filter { $0.cursor > after }.prefix(limit))
            return EventsResponse(events: selected, nextCursor: selected.last?.cursor ?? after)
        }
    }
}
