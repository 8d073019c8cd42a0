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
        /// For verdicts whose entities must be extracted per line: the last line's ``EntityMemo`` key and the
        /// entities and suggestion extracted from it, so a line that differs only in timestamps and pids skips
        /// extraction.
        var memo: EntityMemo?
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
        lookup(hash: hash, bytes: bytes, key: nil)?.verdict
    }

    /// The verdict for the template, marking it most recently used, and the entities and suggestion remembered
    /// for it when `key` (the line's ``EntityMemo`` key) equals the remembered one.
    mutating func lookup(
        hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, key: UnsafeBufferPointer<UInt8>?
    ) -> (verdict: LogVerdict, memo: EntityMemo?)? {
        guard let slot = slot(hash: hash, bytes: bytes) else {
            return nil
        }
        moveToFront(slot)
        guard let key, let memo = entries[slot].memo else {
            return (entries[slot].verdict, nil)
        }
        let same = memo.key.withUnsafeBytes { Self.equal($0, UnsafeRawBufferPointer(key)) }
        return (entries[slot].verdict, same ? memo : nil)
    }

    /// Remembers the entities and suggestion of the last line of a cached template.
    mutating func remember(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, memo: EntityMemo) {
        guard let slot = slot(hash: hash, bytes: bytes) else {
            return
        }
        entries[slot].memo = memo
    }

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

/// The entities and suggestion extracted from one line, with the line's key: the line without what changes from
/// one occurrence to the next but never names an entity, so the next line of the same template with the same key
/// reuses them.
///
/// The key leaves out timestamp-like tokens (only digits and `-:.,+TZ`, with a digit and two `-` or `:`) and the
/// numbers in `word[1234]` (process ids); every entity value must occur in the key, or nothing is remembered.
final class EntityMemo: Sendable {
    let key: [UInt8]
    let entities: LogEntities
    let suggestion: String?

    init(key: [UInt8], entities: LogEntities, suggestion: String?) {
        self.key = key
        self.entities = entities
        self.suggestion = suggestion
    }

    /// Lines longer than this are never remembered.
    static let maximumLine = 2048

    /// Writes the key of `line` into `output` (at least `line.count` bytes) and returns its length.
    static func key(_ line: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        var index = 0
        let end = line.count
        while index < end {
            if line[index] == 0x20 {
                output[count] = 0x20
                count += 1
                index += 1
                continue
            }
            var tokenEnd = index
            var timestampLike = true
            var hasDigit = false
            var separators = 0
            while tokenEnd < end, line[tokenEnd] != 0x20 {
                let byte = line[tokenEnd]
                if LogMasker.isDigit(byte) {
                    hasDigit = true
                } else if byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":") {
                    separators += 1
                } else if byte != UInt8(ascii: "."), byte != UInt8(ascii: ","), byte != UInt8(ascii: "+"),
                    byte != UInt8(ascii: "T"), byte != UInt8(ascii: "Z")
                {
                    timestampLike = false
                }
                tokenEnd += 1
            }
            if timestampLike, hasDigit, separators >= 2 {
                output[count] = 0x01
                count += 1
                index = tokenEnd
                continue
            }
            while index < tokenEnd {
                let byte = line[index]
                output[count] = byte
                count += 1
                index += 1
                // `word[1234]`: keep the brackets, drop the number.
                guard byte == UInt8(ascii: "["), index >= 2, LogMasker.isAlphanumeric(line[index - 2]) else {
                    continue
                }
                var close = index
                while close < tokenEnd, LogMasker.isDigit(line[close]) {
                    close += 1
                }
                if close > index, close < tokenEnd, line[close] == UInt8(ascii: "]") {
                    index = close
                }
            }
        }
        return count
    }

    /// Whether every entity value occurs in `key`, so no value can come from a part the key leaves out.
    static func covers(_ entities: LogEntities, key: UnsafeBufferPointer<UInt8>) -> Bool {
        let values = [
            entities.module, entities.library, entities.command, entities.header, entities.host, entities.path,
            entities.signal, entities.port.map { String($0) }, entities.exitStatus.map { String($0) },
        ]
        for case let value? in values {
            var value = value
            let found = value.isEmpty || value.withUTF8 { firstOccurrence(of: $0, in: key) != nil }
            if !found {
                return false
            }
        }
        return true
    }
}
