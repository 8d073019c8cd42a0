internal import CSSH2

/// Process-wide libssh2 state.
enum SSHLibrary {
    /// The result of `libssh2_init`, evaluated exactly once per process (a static `let` is lazily
    /// initialised under a lock by the Swift runtime).
    static let initResult: Int32 = libssh2_init(0)

    /// Makes sure `libssh2_init` ran.
    /// - Throws: `SSHError` with kind `.other` if libssh2 could not initialise its crypto backend.
    static func ensureInitialized() throws(SSHError) {
        let result = initResult
        guard result == 0 else {
            throw SSHError(
                kind: .other, code: Int(result), message: "libssh2 could not initialise its crypto backend",
                function: "libssh2_init")
        }
    }
}
