/// An HTTP request method. Any token is allowed; the common ones are static members.
public struct CurlMethod: Hashable, Sendable, CustomStringConvertible {
    /// The method token as sent on the request line, such as `GET`.
    public let rawValue: String

    /// Creates a method from its token.
    /// - Parameter rawValue: The token, such as `PATCH`. It is sent as given.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// `GET`.
    public static let get = CurlMethod(rawValue: "GET")
    /// `HEAD`: the response has no body.
    public static let head = CurlMethod(rawValue: "HEAD")
    /// `POST`.
    public static let post = CurlMethod(rawValue: "POST")
    /// `PUT`.
    public static let put = CurlMethod(rawValue: "PUT")
    /// `PATCH`.
    public static let patch = CurlMethod(rawValue: "PATCH")
    /// `DELETE`.
    public static let delete = CurlMethod(rawValue: "DELETE")

    /// The method token.
    public var description: String { rawValue }
}
