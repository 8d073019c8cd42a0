/// Small text helpers that Foundation used to provide; the agent links FoundationEssentials only.
extension StringProtocol {
    /// The text without leading and trailing whitespace (newlines included).
    var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
            let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }

    /// The directory part of a slash-separated path: `/a/b` → `/a`, `/a` → `/`, `a` → `` (empty).
    var parentDirectory: String {
        var path = Substring(self)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
