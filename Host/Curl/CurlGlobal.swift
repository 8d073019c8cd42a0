internal import CCurl

/// Process-wide libcurl initialisation, run exactly once on first use.
enum CurlGlobal {
    /// The result of `curl_global_init`, evaluated once (Swift initialises static `let`s lazily and atomically).
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

    /// Makes sure libcurl is initialised.
    /// - Returns: `nil` on success, otherwise curl's message for the failed initialisation.
    static func ensureInitialized() -> String? {
        let code = initResult
        guard code != CURLE_OK else { return nil }
        return String(cString: curl_easy_strerror(code))
    }
}
