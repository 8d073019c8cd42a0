/// The first index at or after `start` where `needle` occurs in `haystack` (bytes compared exactly); `nil` when it
/// does not occur or is empty.
func firstOccurrence(
    of needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, from start: Int = 0
) -> Int? {
    guard let first = needle.first, haystack.count >= needle.count else {
        return nil
    }
    var index = start
    while index <= haystack.count - needle.count {
        if haystack[index] == first {
            var offset = 1
            while offset < needle.count, haystack[index + offset] == needle[offset] {
                offset += 1
            }
            if offset == needle.count {
                return index
            }
        }
        index += 1
    }
    return nil
}
