import LogClassifier
import Testing

@Suite("LogTraceGrouper")
struct LogTraceGrouperTests {
    let classifier = LogClassifier()

    @Test("a Python traceback becomes one event classified by its final exception line")
    func python() {
        var grouper = LogTraceGrouper(classifier: classifier)
        let input = [
            "starting job 7",
            "Traceback (most recent call last):",
            "  File \"/app/train.py\", line 3, in <module>",
            "    import torch",
            "ModuleNotFoundError: No module named 'torch'",
            "job 7 ended",
        ]
        let events = input.flatMap { grouper.append($0) } + grouper.finish()
        #expect(events.count == 3)
        #expect(events[1].lines.count == 4)
        #expect(events[1].headline == "ModuleNotFoundError: No module named 'torch'")
        #expect(events[1].classification.category == .dependencyMissing)
        #expect(events[1].classification.entities.module == "torch")
        #expect(events[2].lines == ["job 7 ended"])
    }

    @Test("a grouper resumed from another's pending lines ends the trace as if it had never stopped")
    func resuming() {
        let input = [
            "Exception in thread \"main\" java.lang.RuntimeException: wrapper",
            "\tat com.example.Main.run(Main.java:10)",
            "Caused by: java.net.UnknownHostException: db.internal",
            "\t... 3 more",
            "next line",
        ]
        var whole = LogTraceGrouper(classifier: classifier)
        let expected = input.flatMap { whole.append($0) }
        #expect(expected.count == 2)
        for cut in 1..<4 {
            var first = LogTraceGrouper(classifier: classifier)
            #expect(input[..<cut].flatMap { first.append($0) }.isEmpty)
            #expect(first.pendingLines == Array(input[..<cut]))
            var resumed = LogTraceGrouper(classifier: classifier, resuming: first.pendingLines)
            #expect(resumed.isCollecting)
            #expect(input[cut...].flatMap { resumed.append($0) } == expected)
        }
        var idle = LogTraceGrouper(classifier: classifier)
        _ = idle.append("plain line")
        #expect(idle.pendingLines.isEmpty)
        #expect(!LogTraceGrouper(classifier: classifier, resuming: []).isCollecting)
    }

    @Test("a traceback with a journal prefix on every line is still grouped")
    func journalPrefix() {
        var grouper = LogTraceGrouper(classifier: classifier)
        let input = [
            "Jun 05 10:00:01 vm-1 python3[991]: Traceback (most recent call last):",
            "Jun 05 10:00:01 vm-1 python3[991]:   File \"/app/serve.py\", line 9, in <module>",
            "Jun 05 10:00:01 vm-1 python3[991]:     import vllm",
            "Jun 05 10:00:01 vm-1 python3[991]: ModuleNotFoundError: No module named 'vllm'",
            "Jun 05 10:00:02 vm-1 systemd[1]: serve.service: Main process exited, code=exited, status=1/FAILURE",
        ]
        let events = input.flatMap { grouper.append($0) } + grouper.finish()
        #expect(events.count == 2)
        #expect(events[0].lines.count == 4)
        #expect(events[0].headline == "ModuleNotFoundError: No module named 'vllm'")
        #expect(events[0].classification.entities.module == "vllm")
        #expect(events[1].classification.kind == .serviceFailed)
    }

    @Test("a chained Python traceback stays one event and ends at the last exception")
    func chained() {
        var grouper = LogTraceGrouper(classifier: classifier)
        let input = [
            "Traceback (most recent call last):",
            "  File \"a.py\", line 1, in <module>",
            "    x = {}['k']",
            "KeyError: 'k'",
        ]
        var events = input.flatMap { grouper.append($0) }
        #expect(events.count == 1)
        events += grouper.finish()
        #expect(events.count == 1)
        #expect(events[0].classification.kind == .indexError)
    }

    @Test("a Java stack trace is classified by its root cause")
    func java() {
        var grouper = LogTraceGrouper(classifier: classifier)
        let input = [
            "Exception in thread \"main\" java.lang.IllegalStateException: Failed to load ApplicationContext",
            "\tat org.springframework.test.Context.load(Context.java:98)",
            "Caused by: java.net.UnknownHostException: db.internal: Name or service not known",
            "\tat java.net.InetAddress.getAllByName(InetAddress.java:1281)",
            "\t... 12 more",
            "INFO shutting down",
        ]
        let events = input.flatMap { grouper.append($0) } + grouper.finish()
        #expect(events.count == 2)
        #expect(events[0].lines.count == 5)
        #expect(events[0].headline == "java.net.UnknownHostException: db.internal: Name or service not known")
        #expect(events[0].classification.category == .networkFailure)
        #expect(events[1].classification.category == .other)
    }

    @Test("a trace at the end of input is flushed by finish, and runaway traces are bounded")
    func flushAndBound() {
        var grouper = LogTraceGrouper(classifier: classifier, maximumLines: 3)
        #expect(grouper.append("Traceback (most recent call last):").isEmpty)
        #expect(grouper.append("  File \"x.py\", line 1").isEmpty)
        #expect(grouper.append("  File \"y.py\", line 2").isEmpty)
        let overflow = grouper.append("  File \"z.py\", line 3")
        #expect(overflow.count == 2)
        #expect(overflow[0].lines.count == 3)
        var second = LogTraceGrouper(classifier: classifier)
        _ = second.append("Traceback (most recent call last):")
        _ = second.append("  File \"x.py\", line 1")
        let flushed = second.finish()
        #expect(flushed.count == 1)
        #expect(flushed[0].lines.count == 2)
        #expect(second.finish().isEmpty)
    }
}
