internal import CLibvirt

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

extension VirError {
    /// Reads the calling thread's last libvirt error. Must run in the same synchronous function as the failed call.
    ///
    /// When `subject` (the name or UUID that was looked up) is given and libvirt's message does not mention it
    /// (the test driver only says "Domain not found"), it is appended so the message always names the object.
    static func last(function: String, subject: String? = nil) -> VirError {
        guard let error = virGetLastError() else {
            return VirError(
                code: .unknown,
                domain: .none,
                message: "\(function) failed without a libvirt error",
                function: function
            )
        }
        var message = error.pointee.message.map { String(cString: $0) } ?? "no message"
        if let subject, !message.contains(subject) {
            message += ": '\(subject)'"
        }
        return VirError(
            code: Code(rawValue: Int(error.pointee.code)),
            domain: Domain(rawValue: Int(error.pointee.domain)),
            message: message,
            function: function
        )
    }

    /// Runs a libvirt call that returns a negative status on failure and returns the status.
    @discardableResult
    static func check(_ function: String, _ body: () -> CInt) throws(VirError) -> CInt {
        virResetLastError()
        let status = body()
        guard status >= 0 else {
            throw last(function: function)
        }
        return status
    }

    /// Runs a libvirt call that returns `NULL` on failure and returns the non-`NULL` result.
    static func checkValue<T>(
        _ function: String,
        subject: String? = nil,
        _ body: () -> T?
    ) throws(VirError) -> T {
        virResetLastError()
        guard let value = body() else {
            throw last(function: function, subject: subject)
        }
        return value
    }

    /// Runs a libvirt call that returns a `malloc`ed C string, copies it and frees the original.
    static func checkString(
        _ function: String,
        _ body: () -> UnsafeMutablePointer<CChar>?
    ) throws(VirError) -> String {
        let pointer = try checkValue(function, body)
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

/// Process-wide libvirt set-up, done exactly once.
enum VirLibrary {
    /// Initialises libvirt and installs a silent error handler so libvirt never prints to stderr.
    /// `nil` on success; the error otherwise.
    static let initialization: VirError? = {
        guard virInitialize() >= 0 else {
            return VirError.last(function: "virInitialize")
        }
        virSetErrorFunc(nil, { _, _ in })
        return nil
    }()

    /// Throws if libvirt could not be initialised.
    static func ensureInitialized() throws(VirError) {
        if let error = initialization {
            throw error
        }
    }
}

/// Calls `body` with a C string for `string`, or with `NULL` when `string` is `nil`.
func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let string else {
        return try body(nil)
    }
    return try string.withCString { try body($0) }
}

/// Copies an optional C string.
func optionalString(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

/// Frees memory that libvirt allocated for the caller (arrays from the `virConnectListAll*` family).
func freeLibvirtMemory(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}
