internal import CCurl
internal import CCurlShim
internal import Foundation

/// Owns one curl easy handle configured for one ``CurlRequest``, plus the buffers its callbacks fill.
///
/// Not thread-safe. Ownership moves once: the caller creates and configures it, then hands it to the
/// ``CurlMultiLoop`` thread, which alone touches it until the transfer is finished and it is released.
final class CurlEasy {
    /// The easy handle (`CURL *`). Never nil after a successful init.
    let handle: UnsafeMutableRawPointer
    /// The request's method, for errors.
    let method: CurlMethod
    /// The request's URL, for errors.
    let url: String
    /// The request's total deadline, for timeout messages.
    let timeout: Duration
    /// The pinned server key, for the message of a mismatch.
    let pinnedPublicKey: String?
    /// curl's error buffer (`CURLOPT_ERRORBUFFER`), `CURL_ERROR_SIZE` bytes.
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// The request header list (`struct curl_slist *`), kept alive for the transfer.
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// The largest body accepted.
    private let maximumBodySize: Int
    /// The response body received so far.
    private(set) var responseBody: [UInt8] = []
    /// The response headers of the last response block, keyed by lower-cased name.
    private(set) var responseHeaders: [String: String] = [:]
    /// Whether the write callback refused data because the body grew past ``maximumBodySize``.
    private(set) var bodyTooLarge = false

    /// Creates and configures an easy handle for `request`.
    /// - Throws: ``CurlError/Code/invalidRequest`` for headers with line breaks, ``CurlError/Code/transport``
    ///   when curl refuses an option.
    init(request: CurlRequest, configuration: CurlClientConfiguration) throws(CurlError) {
        method = request.method
        url = request.url
        timeout = request.timeout
        pinnedPublicKey = request.tls?.pinnedPublicKey
        maximumBodySize = configuration.maximumResponseBodySize
        if let failure = CurlGlobal.ensureInitialized() {
            throw CurlError(
                code: .transport,
                message: "curl_global_init failed: \(failure)",
                method: request.method.rawValue,
                url: request.url
            )
        }
        guard let handle = curl_easy_init() else {
            throw CurlError(
                code: .transport,
                message: "curl_easy_init returned no handle",
                method: request.method.rawValue,
                url: request.url
            )
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try configure(request: request, configuration: configuration)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    // MARK: Configuration

    private func configure(request: CurlRequest, configuration: CurlClientConfiguration) throws(CurlError) {
        try check("CURLOPT_ERRORBUFFER") { somnus_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer) }
        try setString(CURLOPT_URL, request.url, "CURLOPT_URL")
        try setLong(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        // Never route agent traffic through a proxy from the environment.
        try setString(CURLOPT_PROXY, "", "CURLOPT_PROXY")
        try setString(CURLOPT_USERAGENT, configuration.userAgent, "CURLOPT_USERAGENT")
        try setLong(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout), "CURLOPT_CONNECTTIMEOUT_MS")
        try setLong(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout), "CURLOPT_TIMEOUT_MS")
        if let path = request.unixSocketPath {
            try setString(CURLOPT_UNIX_SOCKET_PATH, path, "CURLOPT_UNIX_SOCKET_PATH")
        }
        if let tls = request.tls {
            try configureTLS(tls)
        }
        try configureMethodAndBody(request)
        try configureHeaders(request)
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check("CURLOPT_WRITEFUNCTION") {
            somnus_curl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlEasyWriteCallback)
        }
        try check("CURLOPT_WRITEDATA") { somnus_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context) }
        try check("CURLOPT_HEADERFUNCTION") {
            somnus_curl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlEasyHeaderCallback)
        }
        try check("CURLOPT_HEADERDATA") { somnus_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context) }
    }

    private func configureTLS(_ tls: CurlTLS) throws(CurlError) {
        // The pin is the whole check: no CA vouches for the server, and its name and dates do not matter.
        try setLong(CURLOPT_SSL_VERIFYPEER, 0, "CURLOPT_SSL_VERIFYPEER")
        try setLong(CURLOPT_SSL_VERIFYHOST, 0, "CURLOPT_SSL_VERIFYHOST")
        try setString(CURLOPT_PINNEDPUBLICKEY, tls.pinnedPublicKey, "CURLOPT_PINNEDPUBLICKEY")
        // Keeps the presented certificate, so that a pin mismatch can name the key that was offered.
        try setLong(CURLOPT_CERTINFO, 1, "CURLOPT_CERTINFO")
        if let certificate = tls.clientCertificateFile {
            try setString(CURLOPT_SSLCERT, certificate, "CURLOPT_SSLCERT")
            try setString(CURLOPT_SSLCERTTYPE, "PEM", "CURLOPT_SSLCERTTYPE")
        }
        if let key = tls.clientKeyFile {
            try setString(CURLOPT_SSLKEY, key, "CURLOPT_SSLKEY")
            try setString(CURLOPT_SSLKEYTYPE, "PEM", "CURLOPT_SSLKEYTYPE")
        }
    }

    private func configureMethodAndBody(_ request: CurlRequest) throws(CurlError) {
        let method = request.method
        if method == .head {
            try setLong(CURLOPT_NOBODY, 1, "CURLOPT_NOBODY")
            return
        }
        if let body = request.body {
            try check("CURLOPT_POSTFIELDSIZE_LARGE") {
                somnus_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            }
            // COPYPOSTFIELDS copies the bytes, so the array need not outlive this call.
            try check("CURLOPT_COPYPOSTFIELDS") {
                body.withUnsafeBufferPointer { bytes in
                    if let base = bytes.baseAddress, !bytes.isEmpty {
                        return somnus_curl_easy_setopt_pointer(
                            handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                    }
                    return somnus_curl_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                }
            }
            if method != .post {
                try setString(CURLOPT_CUSTOMREQUEST, method.rawValue, "CURLOPT_CUSTOMREQUEST")
            }
        } else if method == .get {
            try setLong(CURLOPT_HTTPGET, 1, "CURLOPT_HTTPGET")
        } else if method == .post {
            try check("CURLOPT_POSTFIELDSIZE_LARGE") {
                somnus_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0)
            }
            try setString(CURLOPT_COPYPOSTFIELDS, "", "CURLOPT_COPYPOSTFIELDS")
        } else {
            try setString(CURLOPT_CUSTOMREQUEST, method.rawValue, "CURLOPT_CUSTOMREQUEST")
        }
    }

    private func configureHeaders(_ request: CurlRequest) throws(CurlError) {
        var lines: [String] = []
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            try validateHeader(name: name, value: value)
            lines.append("\(name): \(value)")
        }
        if let token = request.bearerToken {
            try validateHeader(name: "Authorization", value: token)
            lines.append("Authorization: Bearer \(token)")
        }
        if request.body != nil {
            // Suppress `Expect: 100-continue`, which costs a round trip (or a second) on larger bodies.
            lines.append("Expect:")
        }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw makeError(code: .transport, message: "curl_slist_append failed for a request header")
            }
            headerList = appended
        }
        if let headerList {
            try check("CURLOPT_HTTPHEADER") { somnus_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList) }
        }
    }

    private func validateHeader(name: String, value: String) throws(CurlError) {
        // Unicode scalars, not Characters: "\r\n" is one Character and would slip past a Character check.
        let forbidden: Set<Unicode.Scalar> = ["\r", "\n", "\0"]
        let badName = name.unicodeScalars.contains { forbidden.contains($0) || $0 == ":" || $0 == " " }
        guard !name.isEmpty, !badName else {
            throw makeError(code: .invalidRequest, message: "invalid request header name \"\(name)\"")
        }
        guard !value.unicodeScalars.contains(where: { forbidden.contains($0) }) else {
            throw makeError(code: .invalidRequest, message: "request header \"\(name)\" contains a line break")
        }
    }

    private func setLong(_ option: CURLoption, _ value: Int, _ name: String) throws(CurlError) {
        try check(name) { somnus_curl_easy_setopt_long(handle, option, value) }
    }

    private func setString(_ option: CURLoption, _ value: String, _ name: String) throws(CurlError) {
        try check(name) { value.withCString { somnus_curl_easy_setopt_string(handle, option, $0) } }
    }

    /// The one checker for curl easy calls: turns a failed `CURLcode` into a ``CurlError`` with curl's message.
    private func check(_ what: String, _ call: () -> CURLcode) throws(CurlError) {
        let code = call()
        guard code != CURLE_OK else { return }
        throw makeError(
            code: .transport,
            message: "\(what) failed: \(String(cString: curl_easy_strerror(code)))",
            curlCode: Int(code.rawValue)
        )
    }

    private func makeError(code: CurlError.Code, message: String, curlCode: Int? = nil) -> CurlError {
        CurlError(code: code, message: message, method: method.rawValue, url: url, curlCode: curlCode)
    }

    /// Rounds a duration to whole milliseconds, at least 1 (curl reads 0 as "no limit").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return seconds > 0 ? Int.max : 1 }
        let millis = total.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !millis.overflow else { return Int.max }
        return max(1, Int(clamping: millis.partialValue))
    }

    // MARK: Callbacks (called by curl on the loop thread)

    fileprivate func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard responseBody.count + bytes.count <= maximumBodySize else {
            bodyTooLarge = true
            return false
        }
        responseBody.append(contentsOf: bytes)
        return true
    }

    fileprivate func appendHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: ["\r", "\n"])
        if line.hasPrefix("HTTP/") {
            // A new response block (after 100 Continue or a redirect) replaces the previous headers.
            responseHeaders = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])
        if let existing = responseHeaders[name] {
            responseHeaders[name] = existing + ", " + value
        } else {
            responseHeaders[name] = value
        }
    }

    // MARK: Completion

    /// The PEM text of the certificate the server presented, from `CURLINFO_CERTINFO`, or `nil`.
    private func peerCertificate() -> String? {
        var certificates: UnsafeMutablePointer<curl_certinfo>?
        guard somnus_curl_easy_getinfo_certinfo(handle, &certificates) == CURLE_OK, let certificates,
            certificates.pointee.num_of_certs > 0, var field = certificates.pointee.certinfo[0]
        else { return nil }
        let prefix = "Cert:"
        while true {
            if let data = field.pointee.data {
                let text = String(cString: data)
                if text.hasPrefix(prefix) { return String(text.dropFirst(prefix.count)) }
            }
            guard let next = field.pointee.next else { return nil }
            field = next
        }
    }

    /// Builds the outcome of a finished transfer. Reads curl's error buffer and info right here, synchronously.
    /// - Parameter result: The `CURLcode` the multi handle reported for this transfer.
    func outcome(result: CURLcode) -> Result<CurlResponse, CurlError> {
        guard result == CURLE_OK else {
            var message = String(cString: errorBuffer)
            if message.isEmpty {
                message = String(cString: curl_easy_strerror(result))
            }
            if bodyTooLarge {
                message = "response body exceeds \(maximumBodySize) bytes"
            }
            let pinMismatch = result == CURLE_SSL_PINNEDPUBKEYNOTMATCH
            if pinMismatch, let pinnedPublicKey {
                message += " (pinned \(pinnedPublicKey))"
            }
            let code: CurlError.Code = result == CURLE_OPERATION_TIMEDOUT ? .timeout : .transport
            return .failure(
                CurlError(
                    code: code, message: message, method: method.rawValue, url: url, curlCode: Int(result.rawValue),
                    peerCertificate: pinMismatch ? peerCertificate() : nil))
        }
        var status = 0
        let infoCode = somnus_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard infoCode == CURLE_OK else {
            let message = "CURLINFO_RESPONSE_CODE failed: \(String(cString: curl_easy_strerror(infoCode)))"
            return .failure(makeError(code: .transport, message: message, curlCode: Int(infoCode.rawValue)))
        }
        return .success(CurlResponse(status: status, headers: responseHeaders, body: responseBody))
    }
}

private func curlEasyWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?,
    _ size: Int,
    _ count: Int,
    _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let easy = Unmanaged<CurlEasy>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return 0 }
    return easy.appendBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func curlEasyHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?,
    _ size: Int,
    _ count: Int,
    _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let easy = Unmanaged<CurlEasy>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return length }
    easy.appendHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
    return length
}
