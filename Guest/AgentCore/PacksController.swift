import AgentAPI
import FoundationEssentials
import Hummingbird
import NIOCore
import NIOPosix
import Packs

/// `GET /v1/packs`, `POST /v1/packs/{name}/install`, `GET /v1/packs/jobs/{id}`, `DELETE /v1/packs/jobs/{id}`.
///
/// Installing and cancelling answer 403 `forbidden` to a non-root process on the unix socket.
struct PacksController {
    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        let packs = state.packs
        router.get(RouterPath(AgentRoute.packs)) { _, _ in
            let list = try await NIOThreadPool.singleton.runIfActive { try packs.list() }
            return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: list)
        }
        router.post(RouterPath("\(AgentRoute.packs)/:name/install")) { request, context in
            try context.caller.requirePrivileged("installing packs")
            let name = context.parameters.get("name") ?? ""
            let body = try await Self.decodeInstallRequest(request)
            let job = try await NIOThreadPool.singleton.runIfActive { try packs.start(name: name, request: body) }
            return APIErrorMiddleware<AgentRequestContext>.json(
                status: .accepted, body: JobStartResponse(id: job.id))
        }
        router.get(RouterPath("\(AgentRoute.packs)/jobs/:id")) { request, context in
            let job = try packs.job(context.parameters.get("id") ?? "")
            let offset = try ExecController.integer(
                request.uri.queryParameters["offset"], name: "offset", range: 0...Int.max, default: 0)
            return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: job.response(from: offset))
        }
        router.delete(RouterPath("\(AgentRoute.packs)/jobs/:id")) { _, context in
            try context.caller.requirePrivileged("cancelling pack installs")
            let job = try packs.job(context.parameters.get("id") ?? "")
            job.cancel()
            return APIErrorMiddleware<AgentRequestContext>.json(status: .accepted, body: job.response(from: 0))
        }
    }

    /// The body as a ``PackInstallRequest`` (an empty body is an empty request); a bad manifest is refused with
    /// a message naming the field, such as `request body: manifest.steps[1].shell.timeout_s must be 1…3600, not 0`.
    static func decodeInstallRequest(_ request: Request) async throws -> PackInstallRequest {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: AgentRequestContext.maxBodySize)
        } catch {
            throw AgentError(
                .payloadTooLarge, "the request body is larger than \(AgentRequestContext.maxBodySize) bytes")
        }
        let data = Data(buffer.readableBytesView)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return PackInstallRequest() }
        do {
            return try JSONDecoder().decode(PackInstallRequest.self, from: data)
        } catch {
            throw AgentError(.badRequest, PackError.decoding(error, source: "request body").message)
        }
    }
}
