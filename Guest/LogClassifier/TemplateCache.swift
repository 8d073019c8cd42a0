/// The part of a verdict that depends only on the template. A class so a cache hit costs one retain.
final class LogVerdict: Sendable {
    let category: LogCategory
    let kind: LogKind
    let confidence: Double
    let template: String
    /// Entities and suggestion, when they depend only on the template (every value lies in its unmasked text),
    /// so later lines with the same template can reuse them without extraction.
    let reusable: Reusable?

    struct Reusable: Sendable {
        let entities: LogEntities
        let suggestion: String?
    }

    init(category: LogCategory, kind: LogKind, confidence: Double, template: String, reusable: Reusable? = nil) {
        self.category = category
        self.kind = kind
        self.confidence = confidence
        self.template = template
        self.reusable = reusable
    }

    func with(_ reusable: Reusable) -> LogVerdict {
        LogVerdict(category: category, kind: kind, confidence: confidence, template: template, reusable: reusable)
    }
}

/// A bounded least-recently-used map from template to verdict.
///
/// Keyed by a 64-bit hash of the template bytes; the bytes are kept and compared, so a hash collision is a
/// miss, never a wrong answer.
struct TemplateCache: Sendable {
    private struct Entry: Sendable {
        var hash: UInt64
        var bytes: [UInt8]
        var verdict: LogVerdict
        var previous: Int
        var next: Int
        /// The last raw line seen with this template and its full result, kept only for verdicts whose
        /// entities must be extracted per line, so an exact repeat skips extraction.
        var lastLine: [UInt8] = []
        var lastResult: LogClassification?
    }

    let capacity: Int
    private var slots: [UInt64: Int] = [:]
    private var entries: [Entry] = []
    private var head = -1
    private var tail = -1

    /// Creates an empty cache holding at most `capacity` templates (0 disables caching).
    init(capacity: Int) {
        self.capacity = max(0, capacity)
        slots.reserveCapacity(self.capacity)
        entries.reserveCapacity(self.capacity)
    }

    /// The number of cached templates.
    var count: Int { entries.count }

    /// A fast 64-bit hash of the template bytes, eight bytes at a time (collisions are caught by comparing bytes).
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let raw = UnsafeRawBufferPointer(bytes)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(raw.count)
        var offset = 0
        while offset + 8 <= raw.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            hash = (hash ^ word) &* 0x9e37_79b9_7f4a_7c15
            hash ^= hash >> 29
            offset += 8
        }
        while offset < raw.count {
            hash = (hash ^ UInt64(raw[offset])) &* 0x100_0000_01b3
            offset += 1
        }
        return LogFeatures.mix(hash)
    }

    /// Byte equality, eight bytes at a time.
    static func equal(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        guard left.count == right.count else {
            return false
        }
        var offset = 0
        while offset + 8 <= left.count {
            if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < left.count {
            if left[offset] != right[offset] {
                return false
            }
            offset += 1
        }
        return true
    }

    /// The verdict for the template, marking it most recently used.
    mutating func lookup(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>) -> LogVerdict? {
        lookup(hash: hash, bytes: bytes, line: nil)?.verdict
    }

    /// The verdict for the template, marking it most recently used, and the full earlier result when `line`
    /// repeats the last line remembered for this template.
    mutating func lookup(
        hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>?
    ) -> (verdict: LogVerdict, repeated: LogClassification?)? {
        guard let slot = slot(hash: hash, bytes: bytes) else {
            return nil
        }
        moveToFront(slot)
        var repeated: LogClassification?
        if let line, let result = entries[slot].lastResult {
            let same = entries[slot].lastLine.withUnsafeBytes { Self.equal($0, UnsafeRawBufferPointer(line)) }
            repeated = same ? result : nil
        }
        return (entries[slot].verdict, repeated)
    }

    /// Remembers the full result for the last raw line of a cached template.
    mutating func remember(
        hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>, result: LogClassification
    ) {
        guard line.count <= Self.maximumRememberedLine, let slot = slot(hash: hash, bytes: bytes) else {
            return
        }
        entries[slot].lastLine = Array(line)
        entries[slot].lastResult = result
    }

    /// Lines longer than this are never remembered.
    static let maximumRememberedLine = 2048

    private func slot(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let slot = slots[hash] else {
            return nil
        }
        let matches = entries[slot].bytes.withUnsafeBytes { stored in
            Self.equal(stored, UnsafeRawBufferPointer(bytes))
        }
        return matches ? slot : nil
    }

    /// Stores a verdict, evicting the least recently used template when full.
    mutating func insert(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, verdict: LogVerdict) {
        guard capacity > 0 else {
            return
        }
        if let slot = slots[hash] {
            entries[slot].bytes = Array(bytes)
            entries[slot].verdict = verdict
            moveToFront(slot)
            return
        }
        let slot: Int
        if entries.count < capacity {
            entries.append(Entry(hash: hash, bytes: Array(bytes), verdict: verdict, previous: -1, next: -1))
            slot = entries.count - 1
        } else {
            slot = tail
            unlink(slot)
            slots[entries[slot].hash] = nil
            entries[slot] = Entry(hash: hash, bytes: Array(bytes), verdict: verdict, previous: -1, next: -1)
        }
        slots[hash] = slot
        pushFront(slot)
    }

    private mutating func moveToFront(_ slot: Int) {
        guard head != slot else {
            return
        }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let previous = entries[slot].previous
        let next = entries[slot].next
        if previous >= 0 { entries[previous].next = next } else if head == slot { head = next }
        if next >= 0 { entries[next].previous = previous } else if tail == slot { tail = previous }
        entries[slot].previous = -1
        entries[slot].next = -1
    }

    private mutating func pushFront(_ slot: Int) {
        entries[slot].previous = -1
        entries[slot].next = head
        if head >= 0 { entries[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
