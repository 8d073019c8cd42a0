/// Turns a raw line into its template: variable parts masked, whitespace collapsed.
///
/// Works on UTF-8 bytes without allocating: the caller provides the output buffer. Masks:
/// URLs → `<url>`, paths → `<path>`, IPv4 addresses → `<ip>`, UUIDs → `<uuid>`, `0x…` and long mixed hex runs →
/// `<hex>`, numbers of two or more digits and dotted versions → `<n>`. Single digits stay, so exit codes and
/// signal numbers such as `0`, `1` or `9` survive.
enum LogMasker {
    /// At most this many input bytes are looked at; the rest of a very long line is ignored.
    static let maximumInput = 1024

    /// The output buffer size needed for an input of `count` bytes: a mask can be three times as long as what it
    /// replaces (`/a` and a space become `<path>` and a space).
    static func outputCapacity(forInput count: Int) -> Int {
        min(count, maximumInput) * 3 + 16
    }

    /// Writes the template of `input` into `output` and returns its length.
    /// - Parameters:
    ///   - input: The raw line bytes.
    ///   - output: At least `outputCapacity(forInput: input.count)` bytes.
    /// Byte classes: 1 = space, 2 = delimiter; inside a token 4 = digit, 8 = slash, 16 = anything else, with
    /// 32 added for the bytes that can start or continue hex (`a`–`f`, `x`, either case) and 64 for `.`.
    static let byteClasses: [UInt8] = (0..<256).map { value in
        let byte = UInt8(value)
        if isSpace(byte) { return 1 }
        if isDelimiter(byte) { return 2 }
        if isDigit(byte) { return digitClass }
        if byte == UInt8(ascii: "/") { return slashClass }
        if isHexLetter(byte) || byte | 0x20 == UInt8(ascii: "x") { return otherClass | hexishClass }
        if byte == UInt8(ascii: ".") { return otherClass | dotClass }
        return otherClass
    }
    static let digitClass: UInt8 = 4
    static let slashClass: UInt8 = 8
    static let otherClass: UInt8 = 16
    static let hexishClass: UInt8 = 32
    static let dotClass: UInt8 = 64
    /// A token at least this long may hold a UUID.
    static let uuidLength = 36

    static func mask(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        byteClasses.withUnsafeBufferPointer { classes in
            mask(input, into: output, classes: classes)
        }
    }

    private static func mask(
        _ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>,
        classes: UnsafeBufferPointer<UInt8>
    ) -> Int {
        var writer = Writer(output: output)
        let end = min(input.count, maximumInput)
        var index = 0
        while index < end {
            let byte = input[index]
            let byteClass = classes[Int(byte)]
            if byteClass == 1 {
                writer.space()
                index += 1
            } else if byteClass == 2 {
                writer.put(byte)
                index += 1
            } else {
                // The token's bytes are copied while it is scanned (most tokens are plain words); a token that
                // needs masking is written again over them.
                let start = writer.beginToken()
                var tokenEnd = index
                var flags: UInt8 = 0
                while tokenEnd < end {
                    let byte = input[tokenEnd]
                    let nextClass = classes[Int(byte)]
                    if nextClass & 3 != 0 {
                        break
                    }
                    flags |= nextClass
                    start[tokenEnd - index] = byte
                    tokenEnd += 1
                }
                // Masking needs a digit or a slash; plain words are copied as they are, and a run of digits is a
                // number whatever else could match.
                if flags & (digitClass | slashClass) == 0 {
                    writer.commit(tokenEnd - index)
                } else if flags & (slashClass | hexishClass) == 0, tokenEnd - index < uuidLength,
                    flags & dotClass == 0 || !startsWithDigitsThenDot(input, from: index, to: tokenEnd)
                {
                    // Digits among punctuation and letters that cannot be hex (timestamps, `node-17`): no URL,
                    // path, IPv4, UUID or hex can match, only numbers.
                    maskNumbers(input, from: index, to: tokenEnd, writer: &writer)
                } else if flags == digitClass {
                    if tokenEnd - index >= 2 {
                        writer.putNumber()
                    } else {
                        writer.put(input[index])
                    }
                } else {
                    maskToken(input, from: index, to: tokenEnd, hasSlash: flags & slashClass != 0, writer: &writer)
                }
                index = tokenEnd
            }
        }
        return writer.finish()
    }

    struct Writer {
        let output: UnsafeMutablePointer<UInt8>
        var count = 0
        var pendingSpace = false

        init(output: UnsafeMutablePointer<UInt8>) {
            self.output = output
        }

        @inline(__always) mutating func space() {
            pendingSpace = count > 0
        }

        @inline(__always) mutating func put(_ byte: UInt8) {
            if pendingSpace {
                output[count] = 0x20
                count += 1
                pendingSpace = false
            }
            output[count] = byte
            count += 1
        }

        /// Where the next token's bytes go (after a pending space, written now); ``commit(_:)`` keeps them.
        @inline(__always) mutating func beginToken() -> UnsafeMutablePointer<UInt8> {
            if pendingSpace {
                output[count] = 0x20
                count += 1
                pendingSpace = false
            }
            return output + count
        }

        /// Keeps `length` bytes written at ``beginToken()``.
        @inline(__always) mutating func commit(_ length: Int) {
            count += length
        }

        /// Copies `input[start..<end]` unchanged.
        @inline(__always) mutating func copy(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
            if pendingSpace {
                output[count] = 0x20
                count += 1
                pendingSpace = false
            }
            guard let base = input.baseAddress else { return }
            (output + count).update(from: base + start, count: end - start)
            count += end - start
        }

        @inline(__always) mutating func put(_ text: StaticString) {
            if pendingSpace {
                output[count] = 0x20
                count += 1
                pendingSpace = false
            }
            (output + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            count += text.utf8CodeUnitCount
        }

        /// Writes `<n>`.
        @inline(__always) mutating func putNumber() {
            if pendingSpace {
                output[count] = 0x20
                count += 1
                pendingSpace = false
            }
            output[count] = UInt8(ascii: "<")
            output[count + 1] = UInt8(ascii: "n")
            output[count + 2] = UInt8(ascii: ">")
            count += 3
        }

        func finish() -> Int {
            count
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

    /// ``maskToken(_:from:to:hasSlash:writer:)`` for a token without a slash, hex letters or `x`, shorter than a
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

    private static func maskToken(
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
