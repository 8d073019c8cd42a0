import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentJobs
import NIOPosix

/// `GET /v1/packs`, `POST /v1/packs/{name}/install`, `GET /v1/packs/jobs/{id}`, `DELETE /v1/packs/jobs/{id}`.
///
/// Installing and cancelling answer 403 `forbidden` to a non-root process on the unix socket.
struct PacksHandler {
    let packs: PackJobTable

    func listPacks() async throws -> Operations.ListPacks.Output {
        let packs = packs
        return .ok(.init(body: .json(try await NIOThreadPool.singleton.runIfActive { try packs.list() })))
    }

    /// Starts an install; an empty body is an empty request (the pack comes from the catalog).
    func installPack(_ input: Operations.InstallPack.Input) async throws -> Operations.InstallPack.Output {
        try AgentRequestScope.caller.requirePrivileged("installing packs")
        let request: PackInstallRequest
        switch input.body {
        case .json(let body): request = body
        case nil: request = PackInstallRequest()
        }
        let (packs, name) = (packs, input.path.name)
        let job = try await NIOThreadPool.singleton.runIfActive { try packs.start(name: name, request: request) }
        return .accepted(.init(body: .json(JobStartResponse(id: job.id))))
    }

    func getPackJob(_ input: Operations.GetPackJob.Input) throws -> Operations.GetPackJob.Output {
        let job = try packs.job(input.path.id)
        let offset = try AgentQuery.integer(input.query.offset, name: "offset", range: 0...Int.max, default: 0)
        return .ok(.init(body: .json(job.response(from: offset))))
    }

    func cancelPackJob(_ input: Operations.CancelPackJob.Input) throws -> Operations.CancelPackJob.Output {
        try AgentRequestScope.caller.requirePrivileged("cancelling pack installs")
        let job = try packs.job(input.path.id)
        job.cancel()
        return .accepted(.init(body: .json(job.response(from: 0))))
    }
}

/// The packs operations of the generated protocol, answered by ``PacksHandler``.
extension AgentAPIHandler {
    func listPacks(_ input: Operations.ListPacks.Input) async throws -> Operations.ListPacks.Output {
        try await packs.listPacks()
    }

    func installPack(_ input: Operations.InstallPack.Input) async throws -> Operations.InstallPack.Output {
        try await packs.installPack(input)
    }

    func getPackJob(_ input: Operations.GetPackJob.Input) throws -> Operations.GetPackJob.Output {
        try packs.getPackJob(input)
    }

    func cancelPackJob(_ input: Operations.CancelPackJob.Input) throws -> Operations.CancelPackJob.Output {
        try packs.cancelPackJob(input)
    }
}
