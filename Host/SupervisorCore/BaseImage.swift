import Foundation

/// A built guest image: kernel, initrd and a read-only qcow2 root disk, described by `manifest.json`.
public struct BaseImage: Codable, Sendable, Equatable {
    /// Hash of every input of the recipe; an unchanged recipe is not rebuilt.
    public var inputHash: String
    /// The kernel's path relative to the image directory.
    public var kernel: String
    /// The initrd's path relative to the image directory.
    public var initrd: String
    /// The read-only qcow2 root disk's path relative to the image directory.
    public var disk: String
    /// The kernel command line to boot with.
    public var cmdline: String
    /// The disk's size on the host in bytes.
    public var imageBytes: Int?
    /// How long the build took.
    public var buildSeconds: Double?
    /// The guest's `/var/lib/dpkg/status` saved at build time, relative to the image directory; the pack cache
    /// resolves Debian packages against it. Absent in images built before it was saved.
    public var dpkgStatus: String?

    enum CodingKeys: String, CodingKey {
        case inputHash
        case kernel
        case initrd
        case disk
        case cmdline = "kernelCommandLine"
        case imageBytes = "diskFileBytes"
        case buildSeconds
        case dpkgStatus
    }

    /// Reads the manifest of the image in `directory`.
    /// - Throws: ``SupervisorError/Code/notFound`` with the command that builds the image when it is missing.
    public static func load(from directory: String) throws(SupervisorError) -> BaseImage {
        let path = directory + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SupervisorError(
                .notFound, "no guest image at \(directory); build it with `somnus image build`")
        }
        do {
            return try JSONDecoder().decode(BaseImage.self, from: data)
        } catch {
            throw SupervisorError(.invalidArgument, "the image manifest \(path) is unreadable", cause: error)
        }
    }
}
