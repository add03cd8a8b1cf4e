using Grpc.Core;
using Inference.Server.Core;
using Inference.Server.Hosting;
using Inference.Server.Protos;
using Inference.Server.SharedMemory;
using Inference.Server.Tracing;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Triton's GRPCInferenceService over <see cref="IInferenceServer"/>: translation only. ModelInfer and
/// ModelStreamInfer take <see cref="PooledInferRequest"/> (see <see cref="KServeGrpcMethodProvider"/>). Expected failures become
/// <see cref="RpcException"/> with the status code of <see cref="ProtocolErrors.ToGrpcStatusCode"/>; on the
/// stream they become <c>error_message</c> replies and the stream goes on; every stream reply carries
/// <c>triton_final_response</c> (true: no model here is decoupled, so each request has exactly one response and
/// <c>triton_enable_empty_final_response</c> adds none). Shared memory goes to <see cref="SharedMemoryGrpc"/>; trace and
/// log settings go to <see cref="GrpcTraceSettings"/> and <see cref="GrpcLogSettings"/>.
/// </summary>
/// <remarks>While the server stops, each ModelStreamInfer stream ends once the drain is over (<see cref="ServerDrain.Drained"/>):
/// it stops reading, writes the replies it owes, and ends with UNAVAILABLE "server is shutting down".</remarks>
public sealed class KServeGrpcService(
    IInferenceServer server, TimeProvider time, ServerDrain? drain = null, SharedMemoryManager? sharedMemory = null, ITensorBufferPool? pool = null,
    TraceManager? traces = null, ServerLogSettings? logSettings = null)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    private readonly SharedMemoryManager _sharedMemory = sharedMemory ?? new SharedMemoryManager();
    private readonly ITensorBufferPool _pool = pool ?? ArrayTensorBufferPool.Instance;

    private static readonly Status StreamClosedForShutdown = new(StatusCode.Unavailable,
        "server is shutting down: the stream is closed; every request read on it has been answered");

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = server.IsLive });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = server.IsReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelReadyResponse { Ready = server.IsModelReady(request.Name, Version(request.Version)) });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var m = server.Metadata;
        var reply = new ServerMetadataResponse { Name = m.Name, Version = m.Version };
        reply.Extensions.Add(m.Extensions);
        return Task.FromResult(reply);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var m = Unwrap(server.GetModelMetadata(request.Name, Version(request.Version)));
        var reply = new ModelMetadataResponse { Name = m.Name, Platform = m.Platform };
        reply.Versions.Add(m.Versions);
        foreach (var t in m.Inputs)
        {
            reply.Inputs.Add(ToMetadata(t));
        }
        foreach (var t in m.Outputs)
        {
            reply.Outputs.Add(ToMetadata(t));
        }
        return Task.FromResult(reply);
    }

    /// <summary>ModelInfer, bound by <see cref="KServeGrpcMethodProvider"/> with <see cref="InferRequestMarshaller"/>.
    /// The reply wraps the response's buffers, which are released when the call ends.</summary>
    public async Task<ModelInferResponse> ModelInfer(PooledInferRequest request, ServerCallContext context)
    {
        using (request)
        {
            var (response, error, shm) = await InferAsync(request, context.CancellationToken);
            using (shm)
            {
                if (error is not null)
                {
                    throw ProtocolErrors.ToRpcException(error);
                }
                context.GetHttpContext().Response.RegisterForDispose(response!);
                return GrpcInferConverter.ToMessage(response!, shm);
            }
        }
    }

    /// <summary>ModelStreamInfer, bound like <see cref="ModelInfer"/>.</summary>
    public async Task ModelStreamInfer(
        IAsyncStreamReader<PooledInferRequest> requestStream, IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        if (drain is not null)
        {
            // Counted until the final status has been written, so that the drain keeps the listeners open until then.
            drain.StreamOpened();
            context.GetHttpContext().Response.OnCompleted(() =>
            {
                drain.StreamEnded();
                return Task.CompletedTask;
            });
        }
        // Requests run concurrently; each reply goes out as soon as it is ready, one write at a time.
        using var writeLock = new SemaphoreSlim(1, 1);
        var pending = new List<Task>();
        // Reading stops when the drain is over; the requests already read are still answered.
        var drained = drain?.Drained ?? CancellationToken.None;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, drained);
        var closed = false;
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(reading.Token))
            {
                pending.Add(RunOneAsync(request));
                if (pending.Count >= 64)
                {
                    pending.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException) when (drained.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            closed = true;
        }
        await Task.WhenAll(pending);
        if (closed)
        {
            throw new RpcException(StreamClosedForShutdown);
        }

        async Task RunOneAsync(PooledInferRequest request)
        {
            InferenceResponse? response;
            InferenceError? error;
            SharedMemoryOutputs? shm;
            using (request)
            {
                (response, error, shm) = await InferAsync(request, context.CancellationToken);
            }
            using (shm)
            using (response)
            {
                // An error names its request too (id, model), so a client with many in flight can match it.
                var reply = error is null
                    ? new ModelStreamInferResponse { InferResponse = GrpcInferConverter.ToMessage(response!, shm) }
                    : new ModelStreamInferResponse
                    {
                        ErrorMessage = error.Message,
                        InferResponse = new ModelInferResponse
                        {
                            ModelName = request.Message.ModelName,
                            ModelVersion = request.Message.ModelVersion,
                            Id = request.Message.Id,
                        },
                    };
                reply.InferResponse.Parameters[GrpcInferConverter.FinalResponseParameter] = new InferParameter { BoolParam = true };
                await writeLock.WaitAsync(context.CancellationToken);
                try
                {
                    // The reply is serialized before WriteAsync returns: the response's buffers may go after it.
                    await responseStream.WriteAsync(reply, context.CancellationToken);
                }
                finally
                {
                    writeLock.Release();
                }
            }
        }
    }

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelConfigResponse { Config = Unwrap(server.GetModelConfig(request.Name, Version(request.Version))) });

    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        var name = string.IsNullOrEmpty(request.Name) ? null : request.Name;
        return Task.FromResult(StatisticsMapper.ToProto(Unwrap(server.GetStatistics(name, Version(request.Version)))));
    }

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        var reply = new RepositoryIndexResponse();
        foreach (var e in server.GetRepositoryIndex(request.Ready))
        {
            reply.Models.Add(new RepositoryIndexResponse.Types.ModelIndex { Name = e.Name, Version = e.Version, State = e.State, Reason = e.Reason });
        }
        return Task.FromResult(reply);
    }

    /// <summary>Triton's load API. Model files (<c>file:</c> parameters, <c>bytes_param</c>) arrive within the server's
    /// gRPC message limit (--max-request-body-bytes), which applies to load requests as to every other message.</summary>
    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        string? config = null;
        var files = new List<ModelFile>();
        foreach (var (key, value) in request.Parameters)
        {
            if (key == "config")
            {
                if (value.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam)
                {
                    throw ProtocolErrors.ToRpcException(ProtocolErrors.Invalid("parameter 'config' must be a string holding the model config as JSON"));
                }
                config = value.StringParam;
            }
            else if (LoadFileParameters.IsFile(key))
            {
                if (value.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.BytesParam)
                {
                    throw ProtocolErrors.ToRpcException(ProtocolErrors.Invalid($"parameter '{key}' must be a bytes_param holding the file's content"));
                }
                files.Add(LoadFileParameters.ToFile(key, value.BytesParam.Memory));
            }
        }
        var error = await server.LoadModelAsync(request.ModelName, config, files, context.CancellationToken);
        return error is null ? new RepositoryModelLoadResponse() : throw ProtocolErrors.ToRpcException(error);
    }

    public override async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        var unloadDependents = false;
        if (request.Parameters.TryGetValue("unload_dependents", out var dependents))
        {
            if (dependents.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.BoolParam)
            {
                throw ProtocolErrors.ToRpcException(ProtocolErrors.Invalid("parameter 'unload_dependents' must be a bool_param"));
            }
            unloadDependents = dependents.BoolParam;
        }
        var error = await server.UnloadModelAsync(request.ModelName, unloadDependents, context.CancellationToken);
        return error is null ? new RepositoryModelUnloadResponse() : throw ProtocolErrors.ToRpcException(error);
    }

    public override Task<SystemSharedMemoryStatusResponse> SystemSharedMemoryStatus(SystemSharedMemoryStatusRequest request, ServerCallContext context) =>
        Task.FromResult(SharedMemoryGrpc.SystemStatus(_sharedMemory, request));

    public override Task<SystemSharedMemoryRegisterResponse> SystemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request, ServerCallContext context) =>
        Task.FromResult(SharedMemoryGrpc.SystemRegister(_sharedMemory, request));

    public override Task<SystemSharedMemoryUnregisterResponse> SystemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest request, ServerCallContext context) =>
        Task.FromResult(SharedMemoryGrpc.SystemUnregister(_sharedMemory, request));

    public override Task<CudaSharedMemoryStatusResponse> CudaSharedMemoryStatus(CudaSharedMemoryStatusRequest request, ServerCallContext context) =>
        Task.FromResult(SharedMemoryGrpc.CudaStatus(_sharedMemory, request));

    public override Task<CudaSharedMemoryRegisterResponse> CudaSharedMemoryRegister(CudaSharedMemoryRegisterRequest request, ServerCallContext context) =>
        Task.FromResult(SharedMemoryGrpc.CudaRegister(_sharedMemory, request));

    public override Task<CudaSharedMemoryUnregisterResponse> CudaSharedMemoryUnregister(CudaSharedMemoryUnregisterRequest request, ServerCallContext context) =>
        Task.FromResult(SharedMemoryGrpc.CudaUnregister(_sharedMemory, request));

    public override Task<TraceSettingResponse> TraceSetting(TraceSettingRequest request, ServerCallContext context) =>
        Task.FromResult(Unwrap(GrpcTraceSettings.Handle(traces ?? throw Unimplemented("trace settings"), server, request)));

    public override Task<LogSettingsResponse> LogSettings(LogSettingsRequest request, ServerCallContext context) =>
        Task.FromResult(Unwrap(GrpcLogSettings.Handle(logSettings ?? throw Unimplemented("log settings"), request)));

    /// <summary>Runs one request; a successful response's shared memory outputs are already written. The caller disposes
    /// the returned <see cref="SharedMemoryOutputs"/> once the reply is serialized.</summary>
    private async Task<(InferenceResponse? Response, InferenceError? Error, SharedMemoryOutputs? SharedMemory)> InferAsync(
        PooledInferRequest received, CancellationToken cancellationToken)
    {
        var request = GrpcInferConverter.ToRequest(received, cancellationToken, time.GetTimestamp(), _sharedMemory, _pool, out var shm);
        if (!request.IsSuccess)
        {
            return (null, request.Error, null);
        }
        var inference = request.Value!;
        var trace = traces is { IsActive: true } ? traces.Sample(inference.ModelName, inference.Id, inference.ReceivedTimestamp) : null;
        inference.Trace = trace;
        try
        {
            var result = await server.InferAsync(inference);
            if (!result.IsSuccess)
            {
                return (null, result.Error, shm);
            }
            if (shm?.Write(result.Response!) is { } written)
            {
                result.Response!.Dispose();
                return (null, written, shm);
            }
            return (result.Response, null, shm);
        }
        finally
        {
            trace?.Complete();
        }
    }

    private static long Version(string version)
    {
        var v = VersionParser.Parse(version);
        return v.IsSuccess ? v.Value : throw ProtocolErrors.ToRpcException(v.Error!);
    }

    private static T Unwrap<T>(Result<T> result) => result.IsSuccess ? result.Value! : throw ProtocolErrors.ToRpcException(result.Error!);

    private static ModelMetadataResponse.Types.TensorMetadata ToMetadata(TensorSignature t)
    {
        var m = new ModelMetadataResponse.Types.TensorMetadata { Name = t.Name, Datatype = t.DataType.ToWireName() };
        m.Shape.Add(t.Shape);
        return m;
    }

    private static RpcException Unimplemented(string feature) =>
        new(new Status(StatusCode.Unimplemented, $"{feature} is not supported by this server"));
}
