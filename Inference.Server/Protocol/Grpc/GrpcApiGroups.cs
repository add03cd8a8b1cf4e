using System.Collections.Frozen;
using Grpc.Core;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// The API group (Triton's, for <c>--grpc-restricted-protocol</c>) of every gRPC method the server binds, by full
/// name. A method missing here fails the binding at start, so a method added to the protos later cannot go
/// unrestricted by accident.
/// </summary>
internal static class GrpcApiGroups
{
    private const string Kserve = "inference.GRPCInferenceService/";
    private const string Health = "grpc.health.v1.Health/";

    public static readonly FrozenDictionary<string, ApiGroup> ByMethod = new Dictionary<string, ApiGroup>
    {
        [Kserve + "ServerLive"] = ApiGroup.Health,
        [Kserve + "ServerReady"] = ApiGroup.Health,
        [Kserve + "ModelReady"] = ApiGroup.Health,
        [Health + "Check"] = ApiGroup.Health,
        [Health + "Watch"] = ApiGroup.Health,
        [Health + "List"] = ApiGroup.Health,
        [Kserve + "ServerMetadata"] = ApiGroup.Metadata,
        [Kserve + "ModelMetadata"] = ApiGroup.Metadata,
        [Kserve + "ModelInfer"] = ApiGroup.Inference,
        [Kserve + "ModelStreamInfer"] = ApiGroup.Inference,
        [Kserve + "ModelConfig"] = ApiGroup.ModelConfig,
        [Kserve + "ModelStatistics"] = ApiGroup.Statistics,
        [Kserve + "RepositoryIndex"] = ApiGroup.ModelRepository,
        [Kserve + "RepositoryModelLoad"] = ApiGroup.ModelRepository,
        [Kserve + "RepositoryModelUnload"] = ApiGroup.ModelRepository,
        [Kserve + "SystemSharedMemoryStatus"] = ApiGroup.SharedMemory,
        [Kserve + "SystemSharedMemoryRegister"] = ApiGroup.SharedMemory,
        [Kserve + "SystemSharedMemoryUnregister"] = ApiGroup.SharedMemory,
        [Kserve + "CudaSharedMemoryStatus"] = ApiGroup.SharedMemory,
        [Kserve + "CudaSharedMemoryRegister"] = ApiGroup.SharedMemory,
        [Kserve + "CudaSharedMemoryUnregister"] = ApiGroup.SharedMemory,
        [Kserve + "TraceSetting"] = ApiGroup.Trace,
        [Kserve + "LogSettings"] = ApiGroup.Logging,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static ApiGroup Of(IMethod method) =>
        ByMethod.TryGetValue(method.FullName.TrimStart('/'), out var group)
            ? group
            : throw new InvalidOperationException($"gRPC method {method.FullName} has no API group for --grpc-restricted-protocol; add it to {nameof(GrpcApiGroups)}.");

    /// <summary>Null when the call may go on, else what Triton answers: UNAVAILABLE "This protocol is restricted,
    /// expecting header 'triton-grpc-protocol-&lt;key&gt;'".</summary>
    public static RpcException? Refusal(ApiRestriction restriction, ServerCallContext call) =>
        restriction.IsSatisfiedBy(call.GetHttpContext().Request.Headers[restriction.GrpcHeader])
            ? null
            : new RpcException(new Status(StatusCode.Unavailable, restriction.GrpcMessage));
}
