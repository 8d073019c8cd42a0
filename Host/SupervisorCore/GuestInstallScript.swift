import Foundation

/// A shell script that installs files into a guest through one SSH `exec` channel, in one round trip.
///
/// Small files travel in the script itself (base64), which then goes to `sh` on the channel's standard input so
/// that no secret stands on a command line; a large file comes on its own channel's standard input, compressed
/// with gzip, with a script that holds only its path and checksum. Every file is written to a temporary name beside its target, given its mode and owner,
/// and renamed into place, so a failed step never leaves a half-written file where the guest reads it. The
/// script stops at the first failing step (`set -eu`).
struct GuestInstallScript {
    /// The exit status the script ends with when the file from standard input does not have the expected sha256;
    /// its standard error then holds `sha256 <hex>` with the sum found in the guest.
    static let checksumMismatchStatus: Int32 = 97

    private var lines = ["set -eu", "umask 077"]

    /// The script's text.
    var text: String { lines.joined(separator: "\n") + "\n" }

    /// Makes a root-owned directory with `mode`, also when it already exists.
    mutating func directory(_ path: String, mode: UInt32) {
        let quoted = Self.quoted(path)
        lines.append("install -d -o root -g root \(quoted) && chmod \(Self.octal(mode)) \(quoted)")
    }

    /// Writes `contents` to `path`, root-owned with `mode`.
    mutating func file(_ path: String, contents: [UInt8], mode: UInt32) {
        let temporary = Self.quoted(Self.temporaryName(path))
        lines.append(
            "printf '%s' '\(Data(contents).base64EncodedString())' | base64 -d > \(temporary) && "
                + "chown root:root \(temporary) && chmod \(Self.octal(mode)) \(temporary) && "
                + "mv -f \(temporary) \(Self.quoted(path))")
    }

    /// Writes the gzip stream on standard input, decompressed, to `path` (root-owned, `mode`) once its sha256 is
    /// `sha256`; otherwise removes it, leaves whatever was at `path`, and ends with ``checksumMismatchStatus``.
    mutating func fileFromStandardInput(_ path: String, sha256: String, mode: UInt32) {
        let temporary = Self.quoted(Self.temporaryName(path))
        lines += [
            "gzip -dc > \(temporary)",
            "sum=$(sha256sum < \(temporary) | cut -c1-64)",
            "if [ \"$sum\" != '\(sha256)' ]; then rm -f \(temporary); echo \"sha256 $sum\" >&2; "
                + "exit \(Self.checksumMismatchStatus); fi",
            "chown root:root \(temporary) && chmod \(Self.octal(mode)) \(temporary) && mv -f \(temporary) "
                + Self.quoted(path),
        ]
    }

    /// Runs a command line, its standard input `/dev/null` (the script may itself be the shell's standard input).
    mutating func command(_ line: String) {
        lines.append(line + " < /dev/null")
    }

    /// The hidden staging name beside `path`: `/a/.b.staged` for `/a/b`.
    static func temporaryName(_ path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return (directory.isEmpty ? "" : directory + "/") + "." + (path as NSString).lastPathComponent + ".staged"
    }

    /// `text` in single quotes for the shell.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static func octal(_ mode: UInt32) -> String {
        "0" + String(mode, radix: 8)
    }
}
