import Foundation

extension BaseImage {
    /// A base image found on disk: its manifest and the absolute paths of the files a domain boots from.
    public struct Location: Sendable, Equatable {
        /// How the directory given names the image.
        public enum Kind: Sendable, Equatable {
            /// The images directory (`…/images/base`): its `manifest.json` is the newest image's.
            case imagesRoot
            /// One image's own directory (`…/images/base/<id>`).
            case imageDirectory
        }

        /// The directory as given.
        public var directory: String
        /// How `directory` names the image.
        public var kind: Kind
        /// The manifest.
        public var image: BaseImage
        /// The kernel's absolute path.
        public var kernelPath: String
        /// The initrd's absolute path.
        public var initrdPath: String
        /// The read-only root disk's absolute path.
        public var diskPath: String

        /// One line saying which image is used and why, such as
        /// `image /var/lib/somnus/images/base/0123abcd (the newest in /var/lib/somnus/images/base)`.
        public var summary: String {
            let imageDirectory = (diskPath as NSString).deletingLastPathComponent
            switch kind {
            case .imagesRoot where imageDirectory != directory:
                return "image \(imageDirectory) (the newest in \(directory))"
            case .imagesRoot, .imageDirectory:
                return "image \(imageDirectory)"
            }
        }
    }

    /// Finds the image named by `directory`: either the images directory, whose manifest is the newest image's,
    /// or one image's own directory, whose manifest names its files relative to the images directory above it.
    /// - Parameter directory: The images directory (`…/images/base`) or one image's directory
    ///   (`…/images/base/<id>`).
    /// - Returns: The manifest with the absolute paths of the kernel, initrd and disk.
    /// - Throws: ``SupervisorError/Code/notFound`` naming the directory, the command that builds an image, and
    ///   (when the manifest's files are missing) both places looked at.
    public static func locate(_ directory: String) throws(SupervisorError) -> Location {
        let directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let image = try BaseImage.load(from: directory)
        let parent = (directory as NSString).deletingLastPathComponent
        for (base, kind) in [(directory, Location.Kind.imagesRoot), (parent, .imageDirectory)] {
            let files = [image.kernel, image.initrd, image.disk].map { base + "/" + $0 }
            if files.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
                return Location(
                    directory: directory, kind: kind, image: image, kernelPath: files[0], initrdPath: files[1],
                    diskPath: files[2])
            }
        }
        throw SupervisorError(
            .notFound,
            "the image manifest \(directory)/manifest.json names \(image.disk), found neither in \(directory) "
                + "nor in \(parent); pass --image the images directory (such as /var/lib/somnus/images/base) or "
                + "one image's directory in it, or rebuild with `somnus image build`")
    }
}
