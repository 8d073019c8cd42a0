/// Pulls module, library, command, header, host, port, path, exit status and signal out of a raw line.
///
/// Runs only for lines classified as failures, on a lower-cased copy for searching and the original bytes for
/// the values (so `libGL.so.1` keeps its case).
struct LogEntityExtractor {
    /// The raw line; valid only during the `extract` call that created the extractor.
    private let original: UnsafeBufferPointer<UInt8>
    /// The same bytes, ASCII lower-cased, for searching.
    private let lower: UnsafeBufferPointer<UInt8>

    private init(original: UnsafeBufferPointer<UInt8>, lower: UnsafeBufferPointer<UInt8>) {
        self.original = original
        self.lower = lower
    }

    static func extract(_ line: UnsafeBufferPointer<UInt8>, category: LogCategory, kind: LogKind) -> LogEntities {
        let count = min(line.count, LogMasker.maximumInput * 2)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(count, 1)) { buffer in
            for index in 0..<count {
                buffer[index] = LogFeatures.lower(line[index])
            }
            let extractor = LogEntityExtractor(
                original: UnsafeBufferPointer(rebasing: line[0..<count]),
                lower: UnsafeBufferPointer(rebasing: buffer[0..<count])
            )
            return extractor.entities(category: category, kind: kind)
        }
    }

    func entities(category: LogCategory, kind: LogKind) -> LogEntities {
        var result = LogEntities()
        switch kind {
        case .missingModule, .missingPackage, .versionConflict, .dependencyOther:
            result.module = module()
        case .missingSharedLibrary, .gpuDriverLibraryMissing:
            result.library = library()
        case .missingCommand:
            result.command = command()
        case .missingHeader:
            result.header = header()
        default:
            break
        }
        if category == .networkFailure || kind == .nccl {
            let (host, port) = hostAndPort()
            result.host = host
            result.port = port
        }
        if Self.pathKinds.contains(kind) {
            result.path = path()
        }
        if Self.processKinds.contains(kind) {
            result.exitStatus = exitStatus()
            result.signal = signal(exitStatus: result.exitStatus)
        }
        if kind == .missingCommand, result.command == nil, let path = result.path {
            result.command = path.split(separator: "/").last.map(String.init)
        }
        return result
    }

    /// Kinds whose lines usually name a path worth reporting.
    static let pathKinds: Set<LogKind> = [
        .fileNotFound, .permissionDenied, .diskFull, .missingCommand, .serviceFailed, .segfault, .runtimeOther,
        .exception, .missingSharedLibrary,
    ]
    /// Kinds whose lines usually carry an exit status or signal.
    static let processKinds: Set<LogKind> = [
        .serviceFailed, .signal, .segfault, .hostOOM, .runtimeOther, .exception, .missingCommand,
    ]

    // MARK: Searching

    /// The first case-insensitive occurrence of a lower-case needle at or after `start`.
    private func find(_ needle: StaticString, from start: Int = 0) -> Int? {
        needle.withUTF8Buffer { firstOccurrence(of: $0, in: lower, from: start) }
    }

    /// Like `find(_:from:)` for a runtime string (already lower-case).
    private func find(text needle: String, from start: Int = 0) -> Int? {
        var needle = needle
        return needle.withUTF8 { firstOccurrence(of: $0, in: lower, from: start) }
    }

    /// The first occurrence of `needle` that does not start inside a word.
    private func findWord(_ needle: StaticString) -> Int? {
        var start = 0
        while let found = find(needle, from: start) {
            if found == 0 || !LogMasker.isAlphanumeric(original[found - 1]) {
                return found
            }
            start = found + 1
        }
        return nil
    }

    /// The index just after the first occurrence of any needle.
    private func after(_ needles: [StaticString]) -> Int? {
        var best: Int?
        var bestStart = Int.max
        for needle in needles {
            if let found = find(needle), found < bestStart {
                bestStart = found
                best = found + needle.utf8CodeUnitCount
            }
        }
        return best
    }

    private static func isValueByte(_ byte: UInt8) -> Bool {
        !(LogMasker.isSpace(byte) || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"")
            || byte == UInt8(ascii: "`") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";")
            || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "[")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
            || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}"))
    }

    /// The value starting at `start` (leading quotes and spaces skipped), trailing `.:` trimmed.
    private func value(at start: Int, extraStops: [UInt8] = []) -> String? {
        var index = start
        while index < original.count, !Self.isValueByte(original[index]) || original[index] == UInt8(ascii: ":") {
            index += 1
        }
        let begin = index
        while index < original.count, Self.isValueByte(original[index]), !extraStops.contains(original[index]) {
            index += 1
        }
        var end = index
        while end > begin, [UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "!")].contains(original[end - 1]) {
            end -= 1
        }
        return end > begin ? String(decoding: original[begin..<end], as: UTF8.self) : nil
    }

    /// The value that ends just before `end` (scanning back over one token).
    private func value(endingAt end: Int) -> String? {
        var stop = end
        while stop > 0, original[stop - 1] == UInt8(ascii: ":") || LogMasker.isSpace(original[stop - 1]) {
            stop -= 1
        }
        var begin = stop
        while begin > 0, Self.isValueByte(original[begin - 1]), original[begin - 1] != UInt8(ascii: ":") {
            begin -= 1
        }
        return stop > begin ? String(decoding: original[begin..<stop], as: UTF8.self) : nil
    }

    // MARK: Entities

    private func module() -> String? {
        if let start = find("cannot import name"), let from = find(" from ", from: start) {
            return value(at: from + 6)
        }
        for marker in Self.moduleMarkers {
            if let index = find(marker), var name = value(at: index + marker.utf8CodeUnitCount) {
                if marker.utf8Start.pointee == UInt8(ascii: "n"), find("noclassdeffounderror") != nil {
                    name = name.replacingSlashes()
                }
                return name
            }
        }
        if let index = find("package "), find(" does not exist") != nil {
            return value(at: index + 8)
        }
        return nil
    }

    static let moduleMarkers: [StaticString] = [
        "no module named ", "cannot find module ", "can't resolve ", "`pip install ", "pip install ", "go get ",
        "noclassdeffounderror: ", "classnotfoundexception: ", "cannot load such file -- ", "can't locate ",
        "unresolved import ", "can't find crate for ", "unable to locate package ",
        "no matching distribution found for ",
        "satisfies the requirement ", "no package '", "no matching package named ", "provides package ",
        "were not found in your environment: ", "missing dependencies: ", "install the optional dependency ",
        "package '", "requires ", "could not find artifact ", "missing: ",
    ]

    private func library() -> String? {
        if let index = after(["cannot find -l", "library not found for -l"]), let name = value(at: index) {
            return "lib" + name
        }
        for marker: StaticString in [".so", ".dll", ".dylib"] {
            var searchFrom = 0
            while let found = find(marker, from: searchFrom) {
                var end = found + marker.utf8CodeUnitCount
                while end < original.count, Self.isValueByte(original[end]), original[end] != UInt8(ascii: ":") {
                    end += 1
                }
                if let name = value(endingAt: end) {
                    let component = name.split(separator: "/").last.map(String.init) ?? name
                    if component.lowercased().hasPrefix("lib") || marker.utf8CodeUnitCount != 3 {
                        return component
                    }
                }
                searchFrom = found + 1
            }
        }
        if let index = after(["no ", "library "]), let name = value(at: index) {
            return name
        }
        return nil
    }

    private func command() -> String? {
        if let index = find(": command not found") ?? find(": not found") {
            return value(endingAt: index)
        }
        for marker in Self.commandMarkers {
            if let index = find(marker),
                let name = value(at: index + marker.utf8CodeUnitCount, extraStops: [UInt8(ascii: ":")])
            {
                return name.split(separator: "/").last.map(String.init) ?? name
            }
        }
        return nil
    }

    static let commandMarkers: [StaticString] = [
        "command not found: ", "exec: ", "linker `", "env: ", "no such file or directory: ", "error: command ",
        "which: no ", "the command ", "no '", "couldn't find ", "could not find any ", "make: ",
        "failed to locate executable ",
    ]

    private func header() -> String? {
        for suffix: StaticString in [".h:", ".h'", ".hpp:", ".hpp'", ".cuh:", ".h "] {
            if let index = find(suffix) {
                var end = index + suffix.utf8CodeUnitCount - 1
                if end > original.count { end = original.count }
                if let name = value(endingAt: end) {
                    return name
                }
            }
        }
        if let index = find("missing header "), let name = value(at: index + 15) {
            return name
        }
        return nil
    }

    private func hostAndPort() -> (String?, Int?) {
        var host: String?
        if let scheme = find("://"),
            let name = value(at: scheme + 3, extraStops: [UInt8(ascii: "/"), UInt8(ascii: ":")])
        {
            host = name
        }
        if host == nil {
            for marker in Self.hostMarkers {
                if let index = findWord(marker),
                    let name = value(at: index + marker.utf8CodeUnitCount, extraStops: [UInt8(ascii: "/")])
                {
                    host = name
                    break
                }
            }
        }
        return hostPort(host)
    }

    static let hostMarkers: [StaticString] = [
        "resolve host: ", "resolve hostname ", "resolve host name ", "resolving ", "host=", "host: ", "host ",
        "lookup ", "enotfound ", "eai_again ", "unknownhostexception: ", "connect to ", "connection to ",
        "server at ", "server on ", "upstream ", "resolve ", "connecting to ", "connect ",
    ]

    private func hostPort(_ host: String?) -> (String?, Int?) {
        var port: Int?
        if let host, let colon = host.lastIndex(of: ":"), let number = Int(host[host.index(after: colon)...]) {
            port = number
            let name = String(host[..<colon])
            return (name.isEmpty ? nil : name, port)
        }
        if let index = after(["port ", "port=", "port: "]) {
            port = number(at: index)
        }
        if port == nil, let host, let index = find(text: host.lowercased() + ":") {
            port = number(at: index + host.utf8.count + 1)
        }
        return (host, port)
    }

    private func number(at start: Int) -> Int? {
        var index = start
        var negative = false
        if index < original.count, original[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value = 0
        var digits = 0
        while index < original.count, LogMasker.isDigit(original[index]), digits < 9 {
            value = value * 10 + Int(original[index] - 0x30)
            index += 1
            digits += 1
        }
        return digits > 0 ? (negative ? -value : value) : nil
    }

    private func path() -> String? {
        var index = 0
        while index < original.count {
            let byte = original[index]
            let atStart =
                index == 0 || !Self.isValueByte(original[index - 1]) || original[index - 1] == UInt8(ascii: "=")
            if atStart, byte == UInt8(ascii: "/") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "."),
                index + 1 < original.count,
                original[index + 1] == UInt8(ascii: "/") || byte == UInt8(ascii: "/")
                    || (byte == UInt8(ascii: ".") && original[index + 1] == UInt8(ascii: "."))
            {
                var end = index
                while end < original.count, Self.isValueByte(original[end]) {
                    end += 1
                }
                var text = String(decoding: original[index..<end], as: UTF8.self)
                // Drop ":line:column" and trailing punctuation.
                while let last = text.last, last == ":" || last == "." || last.isNumber {
                    if last.isNumber, !text.contains(":") { break }
                    text.removeLast()
                }
                if let colon = text.firstIndex(of: ":") {
                    text = String(text[..<colon])
                }
                if text.count > 1, !text.hasPrefix("//") {
                    return text
                }
            }
            index += 1
        }
        return nil
    }

    private func exitStatus() -> Int? {
        for marker in Self.exitMarkers {
            if let index = find(marker), let value = number(at: index + marker.utf8CodeUnitCount) {
                return value
            }
        }
        return nil
    }

    static let exitMarkers: [StaticString] = [
        "exit status ", "exit code ", "exit code: ", "exited with code ", "status=", "exitcode: ",
        "returned a non-zero code: ", "returned non-zero exit status ", "exit status: ", "exited with exit code ",
        "] error ",
    ]

    private func signal(exitStatus: Int?) -> String? {
        for name: StaticString in ["sigkill", "sigabrt", "sigsegv", "sigbus", "sigill", "sigfpe", "sigterm", "sigpipe"]
        where find(name) != nil {
            return name.description.uppercased()
        }
        if let index = find("status="), let slash = find("/", from: index), slash - index < 12 {
            if let name = value(at: slash + 1), name.allSatisfy({ $0.isLetter }) {
                return "SIG" + name.uppercased()
            }
        }
        if let index = after(["signal: ", "signal "]), let value = value(at: index) {
            return value
        }
        if find("segmentation fault") != nil || find("segfault at") != nil {
            return "SIGSEGV"
        }
        if find("core dumped") != nil, find("abort") != nil {
            return "SIGABRT"
        }
        if let exitStatus {
            if exitStatus > 128, exitStatus < 160 { return String(exitStatus - 128) }
            if exitStatus < 0 { return String(-exitStatus) }
        }
        return nil
    }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        String(map { $0 == "/" ? "." : $0 })
    }
}
