#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The bytes of a model file that the encoder reads in place. Mapped from the file read-only, its pages are the page
/// cache's: the kernel can take them back under pressure, and an idle agent gives them back with its other
/// read-only file mappings (`AgentFootprint`), so a model nobody embeds with costs no resident memory. The file
/// must not be truncated while it is mapped (reading a page past its new end is a `SIGBUS`); replacing it by a
/// rename leaves the mapping on the old file.
final class MemoryModelBytes: Sendable {
    /// The first byte, as an address (a pointer is not `Sendable`).
    private let address: UInt
    /// How many bytes.
    let count: Int
    /// Whether ``address`` is a mapping (`munmap`) rather than an allocation.
    private let mapped: Bool

    /// Maps the whole file at `path` read-only.
    /// - Throws: ``MemoryError`` `invalidInput` naming the path and the `errno` text.
    init(mapping path: String) throws(MemoryError) {
        let (descriptor, size) = try StaticModelEmbedder.openModelFile(path)
        defer { close(descriptor) }
        guard size > 0 else {
            throw MemoryError.invalidInput("cannot map the embedding model file \(path): it is empty")
        }
        let region = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let region, region != MAP_FAILED else {
            throw MemoryError.invalidInput(
                "cannot map the embedding model file \(path): \(String(cString: strerror(errno)))")
        }
        address = UInt(bitPattern: region)
        count = size
        mapped = true
    }

    /// A copy of `bytes` in memory (tests, and bytes that are not a file).
    init(copying bytes: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { buffer.baseAddress?.copyMemory(from: base, byteCount: source.count) }
        }
        address = UInt(bitPattern: buffer.baseAddress)
        count = bytes.count
        mapped = false
    }

    deinit {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: address) else { return }
        if mapped {
            munmap(pointer, count)
        } else {
            pointer.deallocate()
        }
    }

    /// Calls `body` with the bytes.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        body(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: count))
    }

    /// A copy of the bytes in an array.
    func array() -> [UInt8] {
        withUnsafeBytes { [UInt8]($0) }
    }
}
