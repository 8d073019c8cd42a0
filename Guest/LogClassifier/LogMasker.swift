/// Turns a raw line into its template: variable parts masked, whitespace collapsed.
///
/// Works on UTF-8 bytes without allocating: the caller provides the output buffer. Masks:
/// URLs → `<url>`, paths → `<path>`, IPv4 addresses → `<ip>`, UUIDs → `<uuid>`, `0x…` and long mixed hex runs →
/// `<hex>`, numbers of two or more digits and dotted versions → `<n>`. Single digits stay, so exit codes and
/// signal numbers such as `0`, `1` or `9` survive. The value of a `key=value` pair made only of hex digits, with
/// at least one decimal digit and one letter `a`–`f`, is `<hex>` whatever its length (`id=3f2a`): such values are
/// ids, and a template per id would fill the cache; words such as `utf8`, `sha256` or `x86_64` are not hex.
///
/// Speed: runs of ASCII letters (most of a line) are found and copied eight bytes at a time; everything else goes
/// through a 256-entry byte-class table. A token is copied while it is scanned; one that needs masking (it has a
/// digit or a slash) is written again over its copy.
enum LogMasker {
    /// At most this many input bytes are looked at; the rest of a very long line is ignored.
    static let maximumInput = 1024

    /// The output buffer size needed for an input of `count` bytes: a mask can be three times as long as what it
    /// replaces (`/a` and a space become `<path>` and a space), and letters are copied eight bytes at a time.
    static func outputCapacity(forInput count: Int) -> Int {
        min(count, maximumInput) * 3 + 16
    }

    /// Byte classes: 1 = space, 2 = delimiter; inside a token 4 = digit, 8 = slash, 16 = anything else, with
    /// 32 added for the bytes that can start or continue hex (`a`–`f`, `x`, either case), 64 for `.` and 128 for
    /// ASCII letters.
    static let byteClasses: [UInt8] = (0..<256).map { value in
        let byte = UInt8(value)
        if isSpace(byte) { return spaceClass }
        if isDelimiter(byte) { return delimiterClass }
        if isDigit(byte) { return digitClass }
        if byte == UInt8(ascii: "/") { return slashClass }
        let letter = isLetter(byte) ? letterClass : 0
        if isHexLetter(byte) || byte | 0x20 == UInt8(ascii: "x") { return otherClass | hexishClass | letter }
        if byte == UInt8(ascii: ".") { return otherClass | dotClass }
        return otherClass | letter
    }
    static let spaceClass: UInt8 = 1
    static let delimiterClass: UInt8 = 2
    static let digitClass: UInt8 = 4
    static let slashClass: UInt8 = 8
    static let otherClass: UInt8 = 16
    static let hexishClass: UInt8 = 32
    static let dotClass: UInt8 = 64
    static let letterClass: UInt8 = 128
    /// A token at least this long may hold a UUID.
    static let uuidLength = 36

    /// Writes the template of `input` into `output` and returns its length.
    /// - Parameters:
    ///   - input: The raw line bytes.
    ///   - output: At least `outputCapacity(forInput: input.count)` bytes.
    static func mask(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        byteClasses.withUnsafeBufferPointer { classes in
            guard let classes = classes.baseAddress, input.count > 0 else {
                return 0
            }
            return mask(input, into: output, classes: classes)
        }
    }

    /// The number of ASCII letters at the start of the eight bytes in `word` (the first byte in its lowest bits).
    @inline(__always) static func leadingLetterCount(_ word: UInt64) -> Int {
        // Lower-cased and without bit 7, so the additions below never carry into the next byte.
        let low = (word | 0x2020_2020_2020_2020) & 0x7F7F_7F7F_7F7F_7F7F
        let atLeastA = low &+ 0x1F1F_1F1F_1F1F_1F1F  // bit 7 set where the byte is ≥ `a`
        let pastZ = low &+ 0x0505_0505_0505_0505  // bit 7 set where the byte is > `z`
        return leadingCount(atLeastA & ~pastZ & ~word)
    }

    /// The number of ASCII digits at the start of the eight bytes in `word` (the first byte in its lowest bits).
    @inline(__always) static func leadingDigitCount(_ word: UInt64) -> Int {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let atLeastZero = low &+ 0x5050_5050_5050_5050  // bit 7 set where the byte is ≥ `0`
        let pastNine = low &+ 0x4646_4646_4646_4646  // bit 7 set where the byte is > `9`
        return leadingCount(atLeastZero & ~pastNine & ~word)
    }

    /// The number of leading bytes (lowest first) whose bit 7 is set in `matches`.
    @inline(__always) private static func leadingCount(_ matches: UInt64) -> Int {
        (~matches & 0x8080_8080_8080_8080).trailingZeroBitCount &>> 3
    }

    /// Eight bytes at `pointer`, the first in the lowest bits.
    @inline(__always) private static func word(at pointer: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self))
    }

    /// The length of an ISO 8601 date and time without fraction or zone (`2026-11-24T14:27:55`).
    static let isoPrefixLength = 19
    /// The template of the first ``isoPrefixLength`` − 2 bytes of an ISO 8601 timestamp.
    static let isoPrefixTemplate: StaticString = "<n>-<n>-<n>T<n>:<n>:"
    static let isoPrefixTemplateLength = 20

    /// Whether the 19 bytes at `pointer` are `DDDD-DD-DDTDD:DD:DD` (D a decimal digit), checked eight bytes at a
    /// time: XOR with the pattern leaves separators 0 and digits 0…9.
    @inline(__always) static func isISOTimestampPrefix(_ pointer: UnsafePointer<UInt8>) -> Bool {
        // Bytes 0…7 `DDDD-DD-`, 8…15 `DDTDD:DD`, 11…18 `DD:DD:DD` (the last overlaps the second).
        let first = word(at: pointer) ^ 0x2D30_302D_3030_3030
        let second = word(at: pointer + 8) ^ 0x3030_3A30_3054_3030
        let third = word(at: pointer + 11) ^ 0x3030_3A30_303A_3030
        // Separator bytes must be 0; digit bytes must have no high nibble and stay below 10 (no carry into bit 4
        // when 6 is added).
        let firstHigh: UInt64 = 0xFFF0_F0FF_F0F0_F0F0
        let firstSix: UInt64 = 0x0006_0600_0606_0606
        let secondHigh: UInt64 = 0xF0F0_FFF0_F0FF_F0F0
        let secondSix: UInt64 = 0x0606_0006_0600_0606
        let thirdHigh: UInt64 = 0xF0F0_FFF0_F0FF_F0F0
        let thirdSix: UInt64 = 0x0606_0006_0600_0606
        let high = (first & firstHigh) | (second & secondHigh) | (third & thirdHigh)
        let carry =
            ((first &+ firstSix) & (firstSix << 3)) | ((second &+ secondSix) & (secondSix << 3))
            | ((third &+ thirdSix) & (thirdSix << 3))
        return high | carry == 0
    }

    /// Bit 7 set in each byte of `word` equal to `byte`, and in no other.
    @inline(__always) private static func equalBytes(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let difference = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        return ~(((difference & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | difference | 0x7F7F_7F7F_7F7F_7F7F)
    }

    /// The number of leading bytes of `word` that the template keeps as they are, whatever the token around them:
    /// no digit, no slash, no control byte, and no space right after a space (or, with `afterSpace`, at the start).
    /// Only a token with a digit or a slash can be masked, and only whitespace other than one space is rewritten.
    @inline(__always) static func leadingPlainCount(_ word: UInt64, afterSpace: Bool) -> Int {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let digits = (low &+ 0x5050_5050_5050_5050) & ~(low &+ 0x4646_4646_4646_4646) & ~word
        let controls = ~(low &+ 0x6060_6060_6060_6060) & ~word & 0x8080_8080_8080_8080
        let spaces = equalBytes(word, 0x20)
        let repeatedSpaces = spaces & ((spaces << 8) | (afterSpace ? 0x80 : 0))
        return leadingCount(~(digits | controls | repeatedSpaces | equalBytes(word, UInt8(ascii: "/"))))
    }

    /// ``leadingPlainCount(_:afterSpace:)`` for one byte.
    @inline(__always) static func isPlain(_ byte: UInt8, afterSpace: Bool) -> Bool {
        byte >= 0x20 && !isDigit(byte) && byte != UInt8(ascii: "/") && !(byte == 0x20 && afterSpace)
    }

    private static func mask(
        _ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>,
        classes: UnsafePointer<UInt8>
    ) -> Int {
        guard let base = input.baseAddress else {
            return 0
        }
        let end = min(input.count, maximumInput)
        var count = 0
        var index = 0
        while index < end {
            // Plain bytes (most of a line: words, single spaces, punctuation) are copied eight at a time; the word is
            // stored whole and the bytes after the plain ones are written again.
            let afterSpace = count == 0 || output[count &- 1] == 0x20
            if index &+ 8 <= end {
                let word = word(at: base + index)
                UnsafeMutableRawPointer(output + count).storeBytes(of: word.littleEndian, as: UInt64.self)
                let plain = leadingPlainCount(word, afterSpace: afterSpace)
                index &+= plain
                count &+= plain
                if plain == 8 {
                    continue
                }
            } else if isPlain(base[index], afterSpace: afterSpace) {
                output[count] = base[index]
                count &+= 1
                index &+= 1
                continue
            }
            let byte = base[index]
            if classes[Int(byte)] == spaceClass {
                // Whitespace runs become one space; none at the start, and one at the end is dropped below.
                if count > 0, output[count &- 1] != 0x20 {
                    output[count] = 0x20
                    count &+= 1
                }
                index &+= 1
                while index < end, classes[Int(base[index])] == spaceClass {
                    index &+= 1
                }
                continue
            }
            // A digit, a slash or a control byte. The token's bytes before it are plain and already copied, so the
            // one-pass loop below goes on from here, as it would have had it started at the token's start.
            var start = index
            while start > 0, classes[Int(base[start &- 1])] & (spaceClass | delimiterClass) == 0 {
                start &-= 1
            }
            let tokenOutput = count &- (index &- start)
            // The token starts right after `=` (a `key=value` value).
            let afterEquals = start > 0 && base[start &- 1] == UInt8(ascii: "=")
            // The rest of the token, written in one pass the way ``maskNumbers(_:from:to:writer:)`` would (numbers
            // masked, the rest copied); the token is written again by ``maskToken`` when that pass may differ from
            // it: a slash, a digit next to a hex letter or before `x` (hex), a long token (UUID), digits then `.` at
            // the start (IPv4).
            var hasDigit = false
            var ipLike = false
            var again = false
            while index < end {
                let byte = base[index]
                let byteClass = classes[Int(byte)]
                if byteClass & letterClass != 0 {
                    guard index &+ 8 <= end else {
                        output[count] = byte
                        count &+= 1
                        index &+= 1
                        continue
                    }
                    // Eight at a time: the word is stored whole; the bytes after the letters are written again.
                    var letters = 0
                    repeat {
                        let word = word(at: base + index)
                        UnsafeMutableRawPointer(output + count).storeBytes(of: word.littleEndian, as: UInt64.self)
                        letters = leadingLetterCount(word)
                        index &+= letters
                        count &+= letters
                    } while letters == 8 && index &+ 8 <= end
                    continue
                }
                if byteClass == digitClass {
                    hasDigit = true
                    if index == start, index &+ isoPrefixLength <= end, isISOTimestampPrefix(base + index) {
                        // `2026-11-24T14:27:55`: the first five numbers written at once; the sixth (and any fraction
                        // after it) goes through the run below, as the byte-by-byte pass would have it.
                        (output + count).update(from: isoPrefixTemplate.utf8Start, count: isoPrefixTemplateLength)
                        count &+= isoPrefixTemplateLength
                        index &+= isoPrefixLength &- 2
                    }
                    let runStart = index
                    var dotted = false
                    var leading = runStart == start
                    while true {
                        if index &+ 8 <= end {
                            let digits = leadingDigitCount(word(at: base + index))
                            index &+= digits
                            if digits == 8 {
                                continue
                            }
                        } else {
                            while index < end, isDigit(base[index]) {
                                index &+= 1
                            }
                        }
                        if leading {
                            // Digits then `.` at the start of the token: may be an IPv4 address.
                            ipLike = index < end && base[index] == UInt8(ascii: ".")
                            leading = false
                        }
                        if index &+ 1 < end, base[index] == UInt8(ascii: "."), isDigit(base[index &+ 1]) {
                            dotted = true
                            index &+= 1
                            continue
                        }
                        break
                    }
                    if dotted || index &- runStart >= 2 {
                        output[count] = UInt8(ascii: "<")
                        output[count &+ 1] = UInt8(ascii: "n")
                        output[count &+ 2] = UInt8(ascii: ">")
                        count &+= 3
                    } else {
                        output[count] = byte
                        count &+= 1
                    }
                    if runStart > start, isHexLetter(base[runStart &- 1]) {
                        again = true
                    }
                    if index < end, isHexLetter(base[index]) || base[index] | 0x20 == UInt8(ascii: "x") {
                        again = true
                    }
                    continue
                }
                if byteClass & (spaceClass | delimiterClass) != 0 {
                    break
                }
                again = again || byteClass == slashClass
                output[count] = byte
                count &+= 1
                index &+= 1
            }
            if again || ipLike || (hasDigit && index &- start >= uuidLength) {
                var flags: UInt8 = 0
                for position in start..<index {
                    flags |= classes[Int(base[position])]
                }
                var writer = Writer(output: output, count: tokenOutput)
                maskToken(
                    input, from: start, to: index, flags: flags & ~letterClass, afterEquals: afterEquals,
                    writer: &writer)
                count = writer.count
            }
        }
        if count > 0, output[count &- 1] == 0x20 {
            count &-= 1
        }
        return count
    }

    /// Writes the template of one token that has a digit or a slash, given the classes of its bytes.
    @inline(__always)
    private static func maskToken(
        _ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, flags: UInt8, afterEquals: Bool,
        writer: inout Writer
    ) {
        if afterEquals, flags & hexishClass != 0, flags & (slashClass | dotClass) == 0,
            isHexValue(input, from: start, to: end)
        {
            writer.put("<hex>")
        } else if flags & (slashClass | hexishClass) == 0, end - start < uuidLength,
            flags & dotClass == 0 || !startsWithDigitsThenDot(input, from: start, to: end)
        {
            // Digits among punctuation and letters that cannot be hex (timestamps, `node-17`): no URL, path,
            // IPv4, UUID or hex can match, only numbers.
            maskNumbers(input, from: start, to: end, writer: &writer)
        } else if flags == digitClass {
            if end - start >= 2 {
                writer.putNumber()
            } else {
                writer.put(input[start])
            }
        } else {
            maskMixedToken(input, from: start, to: end, hasSlash: flags & slashClass != 0, writer: &writer)
        }
    }

    /// Whether the token is only hex digits with at least one decimal digit and one letter (`3f2a`, `1c`).
    private static func isHexValue(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        var hasDigit = false
        var hasLetter = false
        for index in start..<end {
            let byte = input[index]
            if isDigit(byte) {
                hasDigit = true
            } else if isHexLetter(byte) {
                hasLetter = true
            } else {
                return false
            }
        }
        return hasDigit && hasLetter
    }

    struct Writer {
        let output: UnsafeMutablePointer<UInt8>
        var count: Int

        @inline(__always) mutating func put(_ byte: UInt8) {
            output[count] = byte
            count += 1
        }

        @inline(__always) mutating func put(_ text: StaticString) {
            (output + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            count += text.utf8CodeUnitCount
        }

        /// Writes `<n>`.
        @inline(__always) mutating func putNumber() {
            output[count] = UInt8(ascii: "<")
            output[count + 1] = UInt8(ascii: "n")
            output[count + 2] = UInt8(ascii: ">")
            count += 3
        }
    }

    @inline(__always) static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Bytes that end a token: quotes, brackets, separators.
    @inline(__always) static func isDelimiter(_ byte: UInt8) -> Bool {
        // Every delimiter is punctuation below 0x7F that is not a letter or digit; check the common case first.
        if isAlphanumeric(byte) || byte >= 0x7F {
            return false
        }
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"), UInt8(ascii: "("), UInt8(ascii: ")"),
            UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "<"),
            UInt8(ascii: ">"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "|"):
            return true
        default:
            return false
        }
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool {
        byte &- 0x30 < 10
    }

    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26
    }

    @inline(__always) static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || isLetter(byte)
    }

    @inline(__always) static func isHexLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 6
    }

    @inline(__always) static func isHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || isHexLetter(byte)
    }

    /// Whether the token starts with one or more digits followed by `.` (so it may be an IPv4 address).
    @inline(__always)
    private static func startsWithDigitsThenDot(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int)
        -> Bool
    {
        var index = start
        while index < end, isDigit(input[index]) {
            index += 1
        }
        return index > start && index < end && input[index] == UInt8(ascii: ".")
    }

    /// ``maskMixedToken(_:from:to:hasSlash:writer:)`` for a token without a slash, hex letters or `x`, shorter than a
    /// UUID and not starting like an IPv4 address: only its numbers are masked, the same way.
    private static func maskNumbers(
        _ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, writer: inout Writer
    ) {
        var index = start
        while index < end {
            let byte = input[index]
            guard isDigit(byte) else {
                writer.put(byte)
                index += 1
                continue
            }
            index = maskNumber(input, at: index, end: end, writer: &writer)
        }
    }

    /// Writes the digit run at `index` (digits, single dots between digits) as `<num>` when it has a dot or two
    /// digits or more, else as itself.
    /// - Returns: The index after the run.
    @inline(__always)
    private static func maskNumber(
        _ input: UnsafeBufferPointer<UInt8>, at index: Int, end: Int, writer: inout Writer
    ) -> Int {
        var runEnd = index
        var dotted = false
        while runEnd < end {
            if isDigit(input[runEnd]) {
                runEnd += 1
            } else if input[runEnd] == UInt8(ascii: "."), runEnd + 1 < end, isDigit(input[runEnd + 1]) {
                dotted = true
                runEnd += 1
            } else {
                break
            }
        }
        if dotted || runEnd - index >= 2 {
            writer.putNumber()
        } else {
            writer.put(input[index])
        }
        return runEnd
    }

    /// A token with hex letters, `x`, a slash, a leading IPv4-like part or 36 bytes or more: URL, path, IPv4, `0x…`,
    /// UUID, long hex runs and numbers.
    private static func maskMixedToken(
        _ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, hasSlash: Bool, writer: inout Writer
    ) {
        // URLs and paths need a slash.
        if hasSlash, isURL(input, from: start, to: end) {
            writer.put("<url>")
            return
        }
        if hasSlash, isPath(input, from: start, to: end) {
            writer.put("<path>")
            if input[end - 1] == UInt8(ascii: ":") {
                writer.put(UInt8(ascii: ":"))
            }
            return
        }
        var index = start
        if let ipEnd = matchIPv4(input, from: start, to: end) {
            writer.put("<ip>")
            index = ipEnd
        }
        while index < end {
            let byte = input[index]
            let afterAlphanumeric = index > start && isAlphanumeric(input[index - 1])
            if byte == UInt8(ascii: "0"), index + 2 < end, input[index + 1] | 0x20 == UInt8(ascii: "x"),
                isHex(input[index + 2])
            {
                index += 2
                while index < end, isHex(input[index]) || input[index] == UInt8(ascii: "_") {
                    index += 1
                }
                writer.put("<hex>")
                continue
            }
            if !afterAlphanumeric, isHex(byte) {
                if matchUUID(input, at: index, end: end) {
                    writer.put("<uuid>")
                    index += 36
                    continue
                }
                var runEnd = index
                var hasDigit = false
                var hasLetter = false
                while runEnd < end, isHex(input[runEnd]) {
                    if isDigit(input[runEnd]) { hasDigit = true } else { hasLetter = true }
                    runEnd += 1
                }
                if hasDigit, hasLetter, runEnd - index >= 6, runEnd == end || !isAlphanumeric(input[runEnd]) {
                    writer.put("<hex>")
                    index = runEnd
                    continue
                }
            }
            if isDigit(byte) {
                index = maskNumber(input, at: index, end: end, writer: &writer)
                continue
            }
            writer.put(byte)
            index += 1
        }
    }

    private static func isURL(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        var index = start
        while index < end, isLetter(input[index]) || isDigit(input[index]) || input[index] == UInt8(ascii: "+") {
            index += 1
        }
        return index > start && index + 2 < end && input[index] == UInt8(ascii: ":")
            && input[index + 1] == UInt8(ascii: "/") && input[index + 2] == UInt8(ascii: "/")
    }

    private static func isPath(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        let length = end - start
        guard length >= 2 else {
            return false
        }
        let first = input[start]
        let second = input[start + 1]
        if first == UInt8(ascii: "/") {
            return second != UInt8(ascii: "/")
        }
        if first == UInt8(ascii: "~") || first == UInt8(ascii: "."), second == UInt8(ascii: "/") {
            return true
        }
        if first == UInt8(ascii: "."), second == UInt8(ascii: "."), length > 2, input[start + 2] == UInt8(ascii: "/") {
            return true
        }
        guard isAlphanumeric(first) || first == UInt8(ascii: "_") else {
            return false
        }
        // A relative path: has a slash and a file extension (a dot followed by a letter) after the last slash.
        var lastSlash = -1
        for index in start..<end where input[index] == UInt8(ascii: "/") {
            lastSlash = index
        }
        guard lastSlash >= 0 else {
            return false
        }
        var index = lastSlash + 1
        while index + 1 < end {
            if input[index] == UInt8(ascii: "."), isLetter(input[index + 1]) {
                return true
            }
            index += 1
        }
        return false
    }

    private static func matchIPv4(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        var index = start
        for part in 0..<4 {
            var digits = 0
            while index < end, isDigit(input[index]), digits < 3 {
                index += 1
                digits += 1
            }
            guard digits > 0 else {
                return nil
            }
            if part < 3 {
                guard index < end, input[index] == UInt8(ascii: ".") else {
                    return nil
                }
                index += 1
            }
        }
        if index < end, isAlphanumeric(input[index]) || input[index] == UInt8(ascii: ".") {
            return nil
        }
        return index
    }

    private static func matchUUID(_ input: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> Bool {
        guard end - start >= 36 else {
            return false
        }
        for offset in 0..<36 {
            let byte = input[start + offset]
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                if byte != UInt8(ascii: "-") { return false }
            } else if !isHex(byte) {
                return false
            }
        }
        return start + 36 == end || !isAlphanumeric(input[start + 36])
    }
}
