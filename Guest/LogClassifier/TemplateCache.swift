/// The part of a verdict that depends only on the template. A class so a cache hit costs one retain.
final class LogVerdict: Sendable {
    let category: LogCategory
    let kind: LogKind
    let confidence: Double
    let template: String
    /// Entities and suggestion, when they depend only on the template (every value lies in its unmasked text),
    /// so later lines with the same template can reuse them without extraction.
    let reusable: Reusable?
    /// The whole classification when it depends only on the template (`OTHER`, or ``reusable`` entities): a cache
    /// hit returns it as it is.
    let result: LogClassification?

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
        if category == .other {
            result = LogClassification(
                category: .other, kind: .none, confidence: confidence, template: template, suggestion: nil,
                entities: LogEntities())
        } else if let reusable {
            result = LogClassification(
                category: category, kind: kind, confidence: confidence, template: template,
                suggestion: reusable.suggestion, entities: reusable.entities)
        } else {
            result = nil
        }
    }

    /// Whether a line of this verdict needs its own entities (a failure whose entities are not all in the
    /// template), which an ``EntityMemo`` may spare; lines longer than ``EntityMemo/maximumLine`` never use one.
    @inline(__always) func needsMemo(lineCount: Int) -> Bool {
        category != .other && reusable == nil && lineCount <= EntityMemo.maximumLine
    }

    func with(_ reusable: Reusable) -> LogVerdict {
        LogVerdict(category: category, kind: kind, confidence: confidence, template: template, reusable: reusable)
    }
}

/// A bounded map from template to verdict that evicts by CLOCK (second chance), an approximation of
/// least-recently-used: a hit only sets its entry's referenced flag (no list to relink), and eviction sweeps a hand
/// over the entries, clearing flags, until it finds one not referenced since the last sweep.
///
/// Keyed by a 64-bit hash of the template bytes; the bytes are kept and compared, so a hash collision is a
/// miss, never a wrong answer. The hash finds the entry through an open-addressing table (linear probing,
/// backward-shift deletion, at most half full), so a hit hashes nothing again and allocates nothing.
struct TemplateCache: Sendable {
    private struct Entry: Sendable {
        var hash: UInt64
        var bytes: [UInt8]
        var verdict: LogVerdict
        /// The verdict's ``LogVerdict/result``, kept here so a hit on it reads no more memory than the entry and its
        /// bytes.
        var result: LogClassification?
        /// Set by a hit, cleared by the eviction hand passing over it.
        var referenced: Bool
        /// For verdicts whose entities must be extracted per line: the last line's ``EntityMemo`` key and the
        /// entities and suggestion extracted from it, so a line that differs only in timestamps and pids skips
        /// extraction.
        var memo: EntityMemo?
    }

    let capacity: Int
    /// Open addressing by hash: an entry's index + 1, or 0 for an empty position.
    private var table: [Int32]
    /// `table.count - 1` (the table's size is a power of two).
    private let tableMask: Int
    private var entries: [Entry] = []
    /// The CLOCK hand: the next entry considered for eviction.
    private var hand = 0

    /// Creates an empty cache holding at most `capacity` templates (0 disables caching).
    init(capacity: Int) {
        self.capacity = min(max(0, capacity), Int(Int32.max / 2))
        var size = 8
        while size < self.capacity * 2 { size <<= 1 }
        table = [Int32](repeating: 0, count: size)
        tableMask = size - 1
        entries.reserveCapacity(self.capacity)
    }

    /// The number of cached templates.
    var count: Int { entries.count }

    /// A fast 64-bit hash of the template bytes (collisions are caught by comparing bytes): sixteen bytes at a time in
    /// two independent lanes, so the multiplications overlap; the last bytes as one word that may overlap the previous.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let raw = UnsafeRawBufferPointer(bytes)
        let count = raw.count
        var first: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(count)
        var second: UInt64 = 0x8422_2325_cbf2_9ce4
        var offset = 0
        while offset &+ 16 <= count {
            first = (first ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x9e37_79b9_7f4a_7c15
            second = (second ^ raw.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)) &* 0xc2b2_ae3d_27d4_eb4f
            first ^= first >> 29
            second ^= second >> 31
            offset &+= 16
        }
        if offset &+ 8 <= count {
            first = (first ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x9e37_79b9_7f4a_7c15
            first ^= first >> 29
            offset &+= 8
        }
        if offset < count {
            // The last (up to seven) bytes: the final eight-byte word when there is one, else byte by byte.
            var last: UInt64 = 0
            if count >= 8 {
                last = raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            } else {
                for index in offset..<count {
                    last = last << 8 | UInt64(raw[index])
                }
            }
            second = (second ^ last) &* 0xc2b2_ae3d_27d4_eb4f
            second ^= second >> 31
        }
        return LogFeatures.mix(first ^ (second << 23 | second >> 41))
    }

    /// Byte equality, eight bytes at a time (the last word may overlap the one before it).
    static func equal(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        let count = left.count
        guard count == right.count else {
            return false
        }
        guard count >= 8 else {
            return left.elementsEqual(right)
        }
        var offset = 0
        while offset &+ 8 < count {
            if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset &+= 8
        }
        return left.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            == right.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
    }

    /// What the cache knows of a line: its whole classification, or only the verdict of its template.
    enum Hit {
        /// The classification: the template's, or the remembered one of an earlier line with the same memo key.
        case result(LogClassification)
        /// The template's verdict; the line's entities still have to be extracted.
        case verdict(LogVerdict)
    }

    /// What is known of the line with this template, marking the template referenced: its classification when it
    /// depends only on the template, or when the template's ``EntityMemo`` has the line's key (computed only then,
    /// compared as it is produced, never stored); else the template's verdict.
    mutating func lookup(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>) -> Hit? {
        guard let slot = slot(hash: hash, bytes: bytes) else {
            return nil
        }
        if !entries[slot].referenced {
            entries[slot].referenced = true
        }
        if let result = entries[slot].result {
            return .result(result)
        }
        let verdict = entries[slot].verdict
        guard verdict.needsMemo(lineCount: line.count), let memo = entries[slot].memo,
            memo.key.withUnsafeBufferPointer({ EntityMemo.keyEquals(line, $0) })
        else {
            return .verdict(verdict)
        }
        return .result(memo.result)
    }

    /// Remembers the entities and suggestion of the last line of a cached template.
    mutating func remember(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, memo: EntityMemo) {
        guard let slot = slot(hash: hash, bytes: bytes) else {
            return
        }
        entries[slot].memo = memo
    }

    /// The table position holding `hash`'s entry, or the empty position where it would go.
    private func position(of hash: UInt64) -> (position: Int, slot: Int?) {
        var position = Int(truncatingIfNeeded: hash) & tableMask
        while true {
            let stored = Int(table[position])
            if stored == 0 {
                return (position, nil)
            }
            if entries[stored - 1].hash == hash {
                return (position, stored - 1)
            }
            position = (position + 1) & tableMask
        }
    }

    private func slot(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard capacity > 0, let slot = position(of: hash).slot else {
            return nil
        }
        let matches = entries[slot].bytes.withUnsafeBytes { stored in
            Self.equal(stored, UnsafeRawBufferPointer(bytes))
        }
        return matches ? slot : nil
    }

    /// Empties a table position, moving later entries of the same probe run back so every entry stays reachable
    /// from its hash's home position.
    private mutating func removePosition(_ removed: Int) {
        var hole = removed
        var next = (removed + 1) & tableMask
        while table[next] != 0 {
            let home = Int(truncatingIfNeeded: entries[Int(table[next]) - 1].hash) & tableMask
            if (next - home) & tableMask >= (next - hole) & tableMask {
                table[hole] = table[next]
                hole = next
            }
            next = (next + 1) & tableMask
        }
        table[hole] = 0
    }

    /// Stores a verdict, evicting (CLOCK) a template not referenced since the hand last passed when full.
    mutating func insert(hash: UInt64, bytes: UnsafeBufferPointer<UInt8>, verdict: LogVerdict) {
        guard capacity > 0 else {
            return
        }
        if let slot = position(of: hash).slot {
            entries[slot].bytes = Array(bytes)
            entries[slot].verdict = verdict
            entries[slot].result = verdict.result
            entries[slot].memo = nil
            entries[slot].referenced = true
            return
        }
        let slot: Int
        if entries.count < capacity {
            entries.append(
                Entry(hash: hash, bytes: Array(bytes), verdict: verdict, result: verdict.result, referenced: false))
            slot = entries.count - 1
        } else {
            while entries[hand].referenced {
                entries[hand].referenced = false
                hand = hand + 1 == entries.count ? 0 : hand + 1
            }
            slot = hand
            hand = hand + 1 == entries.count ? 0 : hand + 1
            let evicted = position(of: entries[slot].hash)
            if evicted.slot != nil {
                removePosition(evicted.position)
            }
            entries[slot] = Entry(
                hash: hash, bytes: Array(bytes), verdict: verdict, result: verdict.result, referenced: false)
        }
        table[position(of: hash).position] = Int32(slot + 1)
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
    /// The classification of the line the entities were extracted from (the same for every line with this key).
    let result: LogClassification

    init(key: [UInt8], result: LogClassification) {
        self.key = key
        self.result = result
    }

    /// Lines longer than this are never remembered.
    static let maximumLine = 2048

    /// Writes the key of `line` into `output` (at least `line.count` bytes) and returns its length.
    static func key(_ line: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var writer = KeyWriter(output: output)
        _ = produceKey(line, into: &writer)
        return writer.count
    }

    /// Whether the key of `line` is `key`, compared as it is produced (nothing is written).
    static func keyEquals(_ line: UnsafeBufferPointer<UInt8>, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        var comparer = KeyComparer(expected: key)
        return produceKey(line, into: &comparer) && comparer.count == key.count
    }

    /// Where ``produceKey(_:into:)`` puts the key's bytes.
    protocol KeySink {
        /// Takes the next byte; `false` stops producing.
        mutating func put(_ byte: UInt8) -> Bool
    }

    struct KeyWriter: KeySink {
        let output: UnsafeMutablePointer<UInt8>
        var count = 0

        @inline(__always) mutating func put(_ byte: UInt8) -> Bool {
            output[count] = byte
            count += 1
            return true
        }
    }

    struct KeyComparer: KeySink {
        let expected: UnsafeBufferPointer<UInt8>
        var count = 0

        @inline(__always) mutating func put(_ byte: UInt8) -> Bool {
            guard count < expected.count, expected[count] == byte else {
                return false
            }
            count += 1
            return true
        }
    }

    /// Produces the key of `line` byte by byte into `sink`; `false` when the sink stopped it.
    @inline(__always)
    static func produceKey<Sink: KeySink>(_ line: UnsafeBufferPointer<UInt8>, into sink: inout Sink) -> Bool {
        var index = 0
        let end = line.count
        while index < end {
            if line[index] == 0x20 {
                guard sink.put(0x20) else { return false }
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
                guard sink.put(0x01) else { return false }
                index = tokenEnd
                continue
            }
            while index < tokenEnd {
                let byte = line[index]
                guard sink.put(byte) else { return false }
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
        return true
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
