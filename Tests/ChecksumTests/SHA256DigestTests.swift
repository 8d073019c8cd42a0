import Checksum
import Testing

@Suite("SHA256Digest")
struct SHA256DigestTests {
    @Test(
        "Matches the FIPS 180-4 test vectors",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
    )
    func vectors(input: String, expected: String) {
        var digest = SHA256Digest()
        digest.update(Array(input.utf8))
        #expect(digest.hexDigest() == expected)
        let bytes = SHA256Digest.hash(Array(input.utf8))
        #expect(bytes.count == 32)
        #expect(
            bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                .joined() == expected)
    }

    @Test("Gives the same digest when fed in uneven pieces")
    func pieces() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var whole = SHA256Digest()
        whole.update(bytes)
        var split = SHA256Digest()
        split.update(bytes[0..<1])
        split.update(bytes[1..<130])
        split.update(bytes[130...])
        #expect(whole.hexDigest() == split.hexDigest())
    }
}
