import Foundation

extension VMStatus {
    /// The `<currentMemory>` of a domain's XML in MiB, or `nil` when it has none.
    /// - Parameter xml: The domain's XML, as libvirt writes it (`<currentMemory unit='KiB'>N</currentMemory>`).
    /// - Returns: The amount in MiB.
    static func configuredMemoryMiB(domainXML xml: String) -> Int? {
        guard let open = xml.range(of: "<currentMemory"),
            let close = xml[open.upperBound...].range(of: "</currentMemory>"),
            let start = xml[open.upperBound..<close.lowerBound].firstIndex(of: ">")
        else { return nil }
        let element = xml[open.upperBound..<start]
        guard let amount = Int(xml[xml.index(after: start)..<close.lowerBound].trimmingCharacters(in: .whitespaces))
        else { return nil }
        let unit = Self.attribute("unit", in: element) ?? "KiB"
        let multipliers: [String: Int] = [
            "b": 1, "bytes": 1, "KB": 1000, "k": 1024, "KiB": 1024, "MB": 1_000_000, "M": 1_048_576,
            "MiB": 1_048_576, "GB": 1_000_000_000, "G": 1_073_741_824, "GiB": 1_073_741_824,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        return amount * multiplier / 1_048_576
    }

    private static func attribute(_ name: String, in element: Substring) -> String? {
        for quote in ["'", "\""] {
            if let range = element.range(of: "\(name)=\(quote)") {
                let rest = element[range.upperBound...]
                return rest.firstIndex(of: Character(quote)).map { String(rest[..<$0]) }
            }
        }
        return nil
    }
}
