/// One log event: a single line, or a whole multi-line traceback or stack trace.
public struct LogEvent: Sendable, Hashable {
    /// The lines of the event, in order.
    public var lines: [String]
    /// The line the event was classified by (for a trace: its final exception or root cause).
    public var headline: String
    /// The verdict.
    public var classification: LogClassification

    /// Creates an event.
    public init(lines: [String], headline: String, classification: LogClassification) {
        self.lines = lines
        self.headline = headline
        self.classification = classification
    }
}

/// Groups multi-line Python tracebacks and Java stack traces into single events, classified by their final
/// exception line (Python) or their last `Caused by:` / header line (Java). Every other line is its own event.
///
/// Feed lines in order with ``append(_:)``; call ``finish()`` at the end of input to flush a pending trace.
/// A value type with no shared state: use one per log stream.
public struct LogTraceGrouper: Sendable {
    private enum State: Sendable {
        case idle
        case python
        case java
    }

    private let classifier: LogClassifier
    private var state = State.idle
    private var pending: [String] = []
    private var javaHeadline = ""
    /// UTF-8 length of the text before `Traceback` on the first line (a journal or timestamp prefix).
    private var prefixLength = 0
    private var prefixLastByte: UInt8 = 0
    /// The most lines a trace may collect before it is closed anyway.
    public let maximumLines: Int

    /// Creates a grouper.
    /// - Parameters:
    ///   - classifier: The classifier for finished events.
    ///   - maximumLines: The most lines one trace may hold (bounded memory on runaway output).
    public init(classifier: LogClassifier, maximumLines: Int = 500) {
        self.classifier = classifier
        self.maximumLines = max(2, maximumLines)
    }

    /// Creates a grouper that continues a trace saved from ``pendingLines`` (after a restart): the lines are
    /// fed in again, so the trace ends as if the grouper had never stopped.
    /// - Parameters:
    ///   - classifier: The classifier for finished events.
    ///   - maximumLines: The most lines one trace may hold.
    ///   - lines: The saved ``pendingLines`` (a trace's first lines, none of them recorded yet).
    public init(classifier: LogClassifier, maximumLines: Int = 500, resuming lines: [String]) {
        self.init(classifier: classifier, maximumLines: maximumLines)
        // Lines taken from `pendingLines` only start and continue one trace, so they complete no event.
        for line in lines { _ = append(line) }
    }

    /// Whether a trace is being collected (``finish()`` would return it).
    public var isCollecting: Bool { state != .idle }

    /// The lines of the trace being collected, in order (empty when none is): what to persist so that a restarted
    /// grouper (``init(classifier:maximumLines:resuming:)``) neither loses the trace nor counts it twice.
    public var pendingLines: [String] { state == .idle ? [] : pending }

    /// Adds one line; returns the events it completes (zero, one or two).
    /// - Parameter line: The next raw line.
    /// - Returns: Finished events, in order.
    public mutating func append(_ line: String) -> [LogEvent] {
        var events: [LogEvent] = []
        switch state {
        case .idle:
            break
        case .python:
            let body = withoutPrefix(line)
            if Self.isPythonContinuation(body), pending.count < maximumLines {
                pending.append(line)
                return []
            }
            if Self.isIndentedOrBlank(body) == false, !body.isEmpty, pending.count < maximumLines {
                // The final exception line closes the traceback.
                pending.append(line)
                events.append(close(headline: body))
                return events
            }
            events.append(close(headline: withoutPrefix(pending.last ?? line)))
        case .java:
            if Self.isJavaContinuation(line), pending.count < maximumLines {
                pending.append(line)
                let trimmed = line.drop { $0 == " " || $0 == "\t" }
                if trimmed.hasPrefix("Caused by:") {
                    javaHeadline = String(trimmed.dropFirst("Caused by:".count).drop { $0 == " " })
                }
                return []
            }
            events.append(close(headline: javaHeadline))
        }
        if let range = line.firstRange(of: "Traceback (most recent call last)") {
            state = .python
            pending = [line]
            prefixLength = line.utf8.distance(from: line.startIndex, to: range.lowerBound)
            prefixLastByte = prefixLength > 0 ? line.utf8[line.utf8.index(before: range.lowerBound)] : 0
        } else if Self.isJavaHeader(line) {
            state = .java
            pending = [line]
            javaHeadline = line
        } else {
            events.append(LogEvent(lines: [line], headline: line, classification: classifier.classify(line)))
        }
        return events
    }

    /// Flushes a trace still being collected.
    /// - Returns: The pending event, if any.
    public mutating func finish() -> [LogEvent] {
        switch state {
        case .idle: []
        case .python: [close(headline: withoutPrefix(pending.last ?? ""))]
        case .java: [close(headline: javaHeadline)]
        }
    }

    /// The line without the prefix the traceback's first line had (`Jun 05 host python3[99]: `), when the line
    /// has a prefix of the same length ending in the same byte; otherwise the line itself.
    private func withoutPrefix(_ line: String) -> String {
        guard prefixLength > 0, line.utf8.count >= prefixLength else {
            return line
        }
        let cut = line.utf8.index(line.utf8.startIndex, offsetBy: prefixLength)
        guard line.utf8[line.utf8.index(before: cut)] == prefixLastByte else {
            return line
        }
        return String(decoding: line.utf8[cut...], as: UTF8.self)
    }

    private mutating func close(headline: String) -> LogEvent {
        let event = LogEvent(lines: pending, headline: headline, classification: classifier.classify(headline))
        pending = []
        state = .idle
        javaHeadline = ""
        return event
    }

    private static func isIndentedOrBlank(_ line: String) -> Bool {
        line.isEmpty || line.first == " " || line.first == "\t"
    }

    private static func isPythonContinuation(_ line: String) -> Bool {
        isIndentedOrBlank(line) || line.hasPrefix("During handling of the above exception")
            || line.hasPrefix("The above exception was the direct cause")
            || line.hasPrefix("Traceback (most recent call last)")
            || line.hasPrefix("^") || line.hasPrefix("~")
    }

    private static func isJavaContinuation(_ line: String) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        return trimmed.hasPrefix("at ") || trimmed.hasPrefix("Caused by:") || trimmed.hasPrefix("... ")
            || trimmed.hasPrefix("Suppressed:")
    }

    /// `Exception in thread "main" x.y.FooException: …` or `x.y.FooException: …` / `x.y.FooError`.
    private static func isJavaHeader(_ line: String) -> Bool {
        if line.hasPrefix("Exception in thread ") {
            return true
        }
        guard let first = line.first, first.isLetter, !line.contains(" ") || line.contains(": ") else {
            return false
        }
        let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? line
        return !name.contains(" ") && name.contains(".") && (name.hasSuffix("Exception") || name.hasSuffix("Error"))
    }
}
