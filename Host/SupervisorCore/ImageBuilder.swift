public import Foundation

/// Builds the base guest image with the recipe in `Images/` and finds the recipe and agent binary on disk.
public enum ImageBuilder {
    /// Builds (or confirms the cache of) the base image.
    ///
    /// The recipe hashes its inputs, including the supervisor's public key, and does nothing when the image in
    /// `outputDirectory` was built from the same inputs.
    /// - Parameters:
    ///   - recipeDirectory: The `Images` directory holding `build-image.sh`.
    ///   - outputDirectory: Where the image goes.
    ///   - publicKeyPath: The supervisor's SSH public key, baked in as root's authorized key.
    ///   - onLine: Receives each progress line.
    /// - Returns: The built image's manifest.
    public static func build(
        recipeDirectory: String, outputDirectory: String, publicKeyPath: String,
        onLine: @escaping @Sendable (String) -> Void
    ) async throws(SupervisorError) -> BaseImage {
        let script = recipeDirectory + "/build-image.sh"
        guard FileManager.default.fileExists(atPath: script) else {
            throw SupervisorError(.notFound, "no image recipe at \(script); pass --recipe with the Images directory")
        }
        try await HostCommand.stream(
            "/bin/bash", [script, outputDirectory, "--authorized-key", publicKeyPath], onLine: onLine)
        return try BaseImage.load(from: outputDirectory)
    }

    /// Finds the `Images` recipe directory: the given one, else the first `Images/build-image.sh` found walking
    /// up from the running executable or the working directory.
    public static func locateRecipe(_ explicit: String?) throws(SupervisorError) -> String {
        if let explicit { return explicit }
        let starts = [
            executableDirectory(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        ]
        for start in starts {
            var directory = start.standardizedFileURL
            while directory.path != "/" {
                let candidate = directory.appendingPathComponent("Images")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("build-image.sh").path) {
                    return candidate.path
                }
                directory.deleteLastPathComponent()
            }
        }
        throw SupervisorError(
            .notFound, "cannot find the image recipe (Images/build-image.sh); pass --recipe DIR")
    }

    /// Finds the agent binary to deploy: the given path, else `somnus-agent` beside the running executable.
    public static func locateAgentBinary(_ explicit: String?) throws(SupervisorError) -> String {
        let path =
            explicit
            ?? executableDirectory().appendingPathComponent("somnus-agent").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SupervisorError(
                .notFound,
                "no agent binary at \(path); build it with `provisioning/release-build.sh --product somnus-agent` "
                    + "or pass --agent-binary")
        }
        return path
    }

    /// The directory of the running executable.
    public static func executableDirectory() -> URL {
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? "."
        return URL(fileURLWithPath: path).deletingLastPathComponent()
    }
}
