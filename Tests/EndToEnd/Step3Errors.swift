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
