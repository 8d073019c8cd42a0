internal import Crypto
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The keys derived from `memory.key` and the operations that use them.
///
/// One 32-byte master key (the key file) yields, through HKDF-SHA256 with distinct labels, a sealing key
/// (AES-256-GCM, random 96-bit nonce per sealed value), a token key (HMAC-SHA256 of index terms and tags) and a
/// hash key (HMAC-SHA256 of normalized content for de-duplication). Keyed hashes keep the index useful without
/// letting anyone test guesses against the file.
struct MemoryCipher: Sendable {
    let masterKey: [UInt8]
    private let sealKey: SymmetricKey
    private let tokenKey: SymmetricKey
    private let hashKey: SymmetricKey

    init(masterKey: [UInt8]) {
        self.masterKey = masterKey
        let master = SymmetricKey(data: masterKey)
        func derive(_ label: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(
                inputKeyMaterial: master, salt: Array("somnus-memory".utf8), info: Array(label.utf8),
                outputByteCount: 32)
        }
        self.sealKey = derive("seal")
        self.tokenKey = derive("token")
        self.hashKey = derive("content-hash")
    }

    /// A fresh random master key.
    static func randomMasterKey() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// Nonce ‖ ciphertext ‖ tag.
    func seal(_ plaintext: [UInt8]) throws(MemoryError) -> [UInt8] {
        do {
            guard let combined = try AES.GCM.seal(plaintext, using: sealKey).combined else {
                throw MemoryError.storage("AES-GCM produced no combined box")
            }
            return Array(combined)
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError.storage("cannot seal a memory: \(error)")
        }
    }

    /// Opens a value made by ``seal(_:)``; fails when the key is not the one that sealed it.
    func open(_ sealed: [UInt8]) throws(MemoryError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: sealKey))
        } catch {
            throw MemoryError.wrongKey("a sealed value does not open with this key (\(error))")
        }
    }

    /// A short keyed hash of one index term or tag: 16 hex digits, an opaque token for FTS5.
    func token(_ term: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(term.utf8), using: tokenKey)
        return "t" + Self.hex(Array(mac).prefix(8))
    }

    /// The keyed hash of normalized content (64 hex digits).
    func contentHash(_ normalized: String) -> String {
        Self.hex(Array(HMAC<SHA256>.authenticationCode(for: Array(normalized.utf8), using: hashKey)))
    }

    static func hex<C: Collection<UInt8>>(_ bytes: C) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The 0600 key file next to the database.
enum MemoryKeyFile {
    /// Reads a 32-byte key, or `nil` when the file does not exist.
    static func load(_ path: String) throws(MemoryError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MemoryError.storage("cannot read the memory key file \(path)")
        }
        guard data.count == 32 else {
            throw MemoryError.wrongKey("the memory key file \(path) holds \(data.count) bytes, not 32")
        }
        return Array(data)
    }

    /// Writes a key to `path` with mode 0600 through a temporary file and a rename, then syncs it.
    static func store(_ key: [UInt8], to path: String) throws(MemoryError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw MemoryError.storage("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == key.count, synced == 0 else {
            throw MemoryError.storage("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard fchmodPath(temporary), rename(temporary, path) == 0 else {
            throw MemoryError.storage("cannot install the key file \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func fchmodPath(_ path: String) -> Bool {
        chmod(path, 0o600) == 0
    }
}
