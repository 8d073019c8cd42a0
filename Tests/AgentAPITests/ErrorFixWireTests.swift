import AgentAPI
import Foundation
import Testing

@Suite("Error fix wire types")
struct ErrorFixWireTests {
    static let entryWithoutFixes = """
        {"source":"app","line":"No module named 'torch'","trace":[],"count":2,"first_seen":1,"last_seen":2,
         "classification":{"category":"DEPENDENCY_MISSING","kind":"missing_module","confidence":0.97,
          "template":"No module named 'torch'","entities":{"module":"torch"}}}
        """

    @Test("An entry from an agent without fixes decodes with none; one with fixes round-trips in snake_case")
    func entry() throws {
        let old = try JSONDecoder().decode(ErrorEntry.self, from: Data(Self.entryWithoutFixes.utf8))
        #expect(old.fixes.isEmpty)
        #expect(old.count == 2)
        var entry = old
        entry.fixes = [
            ErrorFix(
                memoryID: "m-1", fix: "pip install torch", template: "No module named 'torch'", match: .template,
                score: 0.9, createdAt: 5)
        ]
        let data = try JSONEncoder().encode(entry)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let fix = try #require((object["fixes"] as? [[String: Any]])?.first)
        #expect(Set(fix.keys) == ["memory_id", "fix", "template", "match", "score", "created_at"])
        #expect(fix["match"] as? String == "template")
        #expect(try JSONDecoder().decode(ErrorEntry.self, from: data) == entry)
    }

    @Test("A fix request leaves absent fields out and decodes with only fix")
    func request() throws {
        let data = try JSONEncoder().encode(ErrorFixRequest(fix: "x", line: "No module named 'x'"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["fix", "line"])
        let minimal = try JSONDecoder().decode(ErrorFixRequest.self, from: Data(#"{"fix":"x"}"#.utf8))
        #expect(minimal == ErrorFixRequest(fix: "x"))
        #expect(AgentRoute.errorFixes == "/v1/errors/fixes")
    }
}
