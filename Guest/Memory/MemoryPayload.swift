import FoundationEssentials

/// The sealed part of a memory: everything that could reveal what was remembered.
struct MemoryPayload: Codable, Equatable {
    var content: String
    var tags: [String]
    var metadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case content = "c"
        case tags = "t"
        case metadata = "m"
    }

    func seal(cipher: MemoryCipher) throws(MemoryError) -> [UInt8] {
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(self)
        } catch {
            throw MemoryError.storage("cannot encode a memory payload: \(error)")
        }
        return try cipher.seal(Array(encoded))
    }

    static func open(_ sealed: [UInt8], cipher: MemoryCipher) throws(MemoryError) -> MemoryPayload {
        let bytes = try cipher.open(sealed)
        do {
            return try JSONDecoder().decode(MemoryPayload.self, from: Data(bytes))
        } catch {
            throw MemoryError.storage("a sealed memory payload does not decode: \(error)")
        }
    }
}
