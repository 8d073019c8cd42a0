import Foundation
import Testing

extension EndToEndTests {
    /// Step 3: a Python traceback appended to the tailed log file and a timeout logged to the journal show up in
    /// `somnus errors` with the right categories.
    func errorsStep(vm: String) throws {
        let script = """
            mkdir -p /var/log/somnus && printf '%s\\n' 'Traceback (most recent call last):' \
            '  File "/opt/app/train.py", line 3, in <module>' '    import torch' \
            "ModuleNotFoundError: No module named 'torch'" >> /var/log/somnus/app.log && \
            logger -t myapp "upload to storage.internal:443 failed: Connection timed out"
            """
        let written = try step("3. log file traceback + journal timeout → somnus errors") { () throws -> CLIResult in
            let append = try somnus(["exec", vm, "--", "sh", "-c", script])
            #expect(append.status == 0, "appending failed: \(append.stderr)")
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(180)
            var last = CLIResult(status: -1, stdout: "", stderr: "")
            while clock.now < deadline {
                last = try somnus(["errors", vm, "--json"])
                let categories = Self.errorCategories(last.stdout)
                if categories.contains("DEPENDENCY_MISSING:app"), categories.contains("NETWORK_FAILURE:journal:myapp") {
                    break
                }
                Thread.sleep(forTimeInterval: 1)
            }
            return last
        }
        #expect(written.status == 0, "somnus errors failed: \(written.stderr)")
        let categories = Self.errorCategories(written.stdout)
        #expect(categories.contains("DEPENDENCY_MISSING:app"), "\(written.stdout)")
        #expect(categories.contains("NETWORK_FAILURE:journal:myapp"), "\(written.stdout)")
        #expect(written.stdout.contains("torch"))
        let table = try somnus(["errors", vm, "--category", "dependency_missing"])
        #expect(table.status == 0)
        #expect(table.stdout.hasPrefix("LAST SEEN"))
        #expect(table.stdout.contains("missing_module"))
        let unknown = try somnus(["errors", "no-such-vm"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no-such-vm"))
        try errorFixStep(vm: vm)
    }

    /// Step 3b: a fix recorded for an error line comes back with the next occurrence of that error (same template),
    /// and with an error of the same kind under another template, ranked as such; bad requests are named.
    func errorFixStep(vm: String) throws {
        let line = "ModuleNotFoundError: No module named 'somnusfix'"
        let recorded = try step("3b. errors fix → the next occurrence carries the fix") { () throws -> CLIResult in
            try somnus(["errors", "fix", vm, "--line", line, "pip install somnusfix", "--json"])
        }
        #expect(recorded.status == 0, "errors fix failed: \(recorded.stderr)")
        let answer = try? JSONSerialization.jsonObject(with: Data(recorded.stdout.utf8)) as? [String: Any]
        let fix = answer?["fix"] as? [String: Any]
        #expect(fix?["match"] as? String == "template", "\(recorded.stdout)")
        let memoryID = try #require(fix?["memory_id"] as? String)

        let other = "ImportError: cannot import name 'fixfunc' from 'somnusfixlib'"
        let logged = try somnus(["exec", vm, "--", "sh", "-c", "logger -t e2e \"\(line)\"; logger -t e2e \"\(other)\""])
        #expect(logged.status == 0, "\(logged.stderr)")
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        var fixes: [String: [[String: Any]]] = [:]
        while clock.now < deadline {
            let listed = try somnus(["errors", vm, "--category", "dependency_missing", "--json"])
            let object = try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
            for entry in (object?["errors"] as? [[String: Any]]) ?? [] where entry["source"] as? String == "journal:e2e"
            {
                fixes[entry["line"] as? String ?? ""] = entry["fixes"] as? [[String: Any]] ?? []
            }
            if fixes.keys.contains(where: { $0.contains("somnusfix'") }),
                fixes.keys.contains(where: { $0.contains("fixfunc") })
            {
                break
            }
            Thread.sleep(forTimeInterval: 1)
        }
        let same = fixes.first { $0.key.contains("somnusfix'") }?.value.first
        #expect(same?["memory_id"] as? String == memoryID, "fixes seen: \(fixes)")
        #expect(same?["match"] as? String == "template")
        #expect(same?["fix"] as? String == "pip install somnusfix")
        let kind = fixes.first { $0.key.contains("fixfunc") }?.value.first
        #expect(kind?["memory_id"] as? String == memoryID, "fixes seen: \(fixes)")
        #expect(kind?["match"] as? String == "kind")
        #expect(((kind?["score"] as? Double) ?? 1) < ((same?["score"] as? Double) ?? 0))

        let neither = try somnus(["errors", "fix", vm, "x"])
        #expect(neither.status == 2)
        #expect(neither.stderr.contains("--template or --line"), "\(neither.stderr)")
        let clean = try somnus(["errors", "fix", vm, "--line", "all good", "x"])
        #expect(clean.status == 2)
        #expect(clean.stderr.contains("classifier finds no error"), "\(clean.stderr)")
    }

    /// `CATEGORY:source` for every entry of a `somnus errors --json` answer.
    static func errorCategories(_ json: String) -> Set<String> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let errors = object["errors"] as? [[String: Any]]
        else { return [] }
        return Set(
            errors.compactMap { entry in
                guard let classification = entry["classification"] as? [String: Any],
                    let category = classification["category"] as? String, let source = entry["source"] as? String
                else { return nil }
                return "\(category):\(source)"
            })
    }
}
