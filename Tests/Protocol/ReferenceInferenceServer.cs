using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using ModelConfig = Inference.Server.Protos.ModelConfig;
using ProtoDataType = Inference.Server.Protos.DataType;

namespace Inference.Tests.Protocol;

/// <summary>
/// A small, honest IInferenceServer for protocol tests: model "identity" (version 1) returns its INPUT0 as
/// OUTPUT0 (any datatype; classification on FP32 gives Triton's "score:index" strings); model "not_ready" is known
/// but never ready; inference on "explodes" throws; anything else is not found. It records the last request's protocol-level fields.
/// </summary>
internal sealed class ReferenceInferenceServer : IInferenceServer
{
    public const string Identity = "identity";
    public const string NotReady = "not_ready";

    /// <summary>A model whose inference throws: a stand-in for a server bug.</summary>
    public const string Explodes = "explodes";

    private readonly ModelStatistics _identityStats = new();

    public ServerMetadata Metadata { get; } = new("reference", "0.1", ["binary_tensor_data", "classification", "statistics", "model_repository"]);

    public bool IsLive => true;

    public volatile bool Ready = true;

    public bool IsReady => Ready;

    public RecordedRequest? LastRequest { get; private set; }

    public string? LastLoadedConfig { get; private set; }

    public bool IsModelReady(string name, long version = -1) => name == Identity && version is -1 or 1;

    public Result<ModelMetadata> GetModelMetadata(string name, long version = -1)
    {
        var known = Check(name, version, requireReady: false);
        if (known is not null)
        {
            return known;
        }
        return new ModelMetadata(name, ["1"], "reference_identity",
            [new TensorSignature("INPUT0", DataType.Fp32, [-1, 16])], [new TensorSignature("OUTPUT0", DataType.Fp32, [-1, 16])]);
    }

    public Result<ModelConfig> GetModelConfig(string name, long version = -1)
    {
        var known = Check(name, version, requireReady: false);
        if (known is not null)
        {
            return known;
        }
        var config = new ModelConfig { Name = name, Platform = "reference_identity", MaxBatchSize = 8 };
        config.Input.Add(new Inference.Server.Protos.ModelInput { Name = "INPUT0", DataType = ProtoDataType.TypeFp32, Dims = { 16 } });
        config.Output.Add(new Inference.Server.Protos.ModelOutput { Name = "OUTPUT0", DataType = ProtoDataType.TypeFp32, Dims = { 16 } });
        return config;
    }

    public Result<IReadOnlyList<ModelStatisticsEntry>> GetStatistics(string? name = null, long version = -1)
    {
        if (name is not null)
        {
            var known = Check(name, version, requireReady: false);
            if (known is not null)
            {
                return known;
            }
            if (name == NotReady)
            {
                return Result<IReadOnlyList<ModelStatisticsEntry>>.From([]);
            }
        }
        return Result<IReadOnlyList<ModelStatisticsEntry>>.From([new ModelStatisticsEntry(Identity, "1", _identityStats, 0)]);
    }

    public IReadOnlyList<RepositoryIndexEntry> GetRepositoryIndex(bool readyOnly = false) => readyOnly
        ? [new(Identity, "1", "READY", "")]
        : [new(Identity, "1", "READY", ""), new(NotReady, "1", "UNAVAILABLE", "never loads")];

    public Task<InferenceError?> LoadModelAsync(string name, string? configJson = null, IReadOnlyList<ModelFile>? files = null, CancellationToken cancellationToken = default)
    {
        LastLoadedConfig = configJson;
        return Task.FromResult(name is Identity or NotReady ? null : new InferenceError(ErrorCode.NotFound, $"no model '{name}' in the repository"));
    }

    public Task<InferenceError?> UnloadModelAsync(string name, bool unloadDependents = false, CancellationToken cancellationToken = default) =>
        Task.FromResult(name is Identity or NotReady ? null : new InferenceError(ErrorCode.NotFound, $"model '{name}' is not loaded"));

    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        using (request)
        {
            if (request.ModelName == Explodes)
            {
                throw new InvalidOperationException("the reference server's bug on purpose, reading /srv/secret/models/explodes/1/model.onnx");
            }
            return ValueTask.FromResult(Infer(request));
        }
    }

    private InferenceResult Infer(InferenceRequest request)
    {
        LastRequest = new RecordedRequest(request.Id, request.ModelVersion, request.Priority, request.TimeoutMicroseconds,
            request.Parameters is null ? null : new Dictionary<string, object>(request.Parameters));
        var error = Check(request.ModelName, request.ModelVersion, requireReady: true);
        if (error is not null)
        {
            return error;
        }
        var input = request.FindInput("INPUT0");
        if (input is null || request.Inputs.Count != 1)
        {
            return InferenceResult.Failure(ErrorCode.InvalidArgument, $"model '{Identity}' expects exactly one input, 'INPUT0'");
        }
        var classification = 0;
        foreach (var o in request.Outputs)
        {
            if (o.Name != "OUTPUT0")
            {
                return InferenceResult.Failure(ErrorCode.InvalidArgument, $"unexpected inference output '{o.Name}' for model '{Identity}'");
            }
            classification = o.ClassificationCount;
        }
        var response = new InferenceResponse { ModelName = request.ModelName, ModelVersion = 1, Id = request.Id };
        if (classification > 0)
        {
            if (input.DataType != DataType.Fp32)
            {
                return InferenceResult.Failure(ErrorCode.InvalidArgument, "classification needs an FP32 output");
            }
            response.Outputs.Add(Classify(input, classification));
        }
        else
        {
            var copy = PooledBuffer.Rent(input.Data.Length);
            input.Data.Span.CopyTo(copy.Span);
            response.Outputs.Add(new InferTensor("OUTPUT0", input.DataType, [.. input.Shape], copy.Memory, copy));
        }
        var timings = new ExecutionTimings { ComputeInputNs = 10, ComputeInferNs = 20, ComputeOutputNs = 30 };
        _identityStats.RecordExecution(1, timings, 1_700_000_000_000);
        _identityStats.RecordSuccess(100, 5, timings);
        return InferenceResult.Success(response);
    }

    /// <summary>Top-<paramref name="count"/> of the flattened FP32 input as Triton's "score:index" strings.</summary>
    private static InferTensor Classify(InferTensor input, int count)
    {
        var values = new float[input.Data.Length / 4];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(input.Data.Span[(i * 4)..]);
        }
        var top = values.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(count).ToArray();
        var strings = top.Select(p => Encoding.UTF8.GetBytes($"{p.v.ToString("0.000000", CultureInfo.InvariantCulture)}:{p.i}")).ToArray();
        var buffer = PooledBuffer.Rent(strings.Sum(s => 4 + s.Length));
        var offset = 0;
        foreach (var s in strings)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.Span[offset..], s.Length);
            s.CopyTo(buffer.Span[(offset + 4)..]);
            offset += 4 + s.Length;
        }
        return new InferTensor("OUTPUT0", DataType.Bytes, [top.Length], buffer.Memory, buffer);
    }

    private static InferenceError? Check(string name, long version, bool requireReady)
    {
        if (name is not (Identity or NotReady))
        {
            return new InferenceError(ErrorCode.NotFound, $"unknown model '{name}'");
        }
        if (version is not (-1 or 1))
        {
            return new InferenceError(ErrorCode.NotFound, $"unknown version {version} of model '{name}'");
        }
        return requireReady && name == NotReady ? new InferenceError(ErrorCode.NotReady, $"model '{name}' is not ready") : null;
    }
}

internal sealed record RecordedRequest(string Id, long Version, uint Priority, ulong TimeoutMicroseconds, Dictionary<string, object>? Parameters);

internal static class ResultExtensions
{
    extension<T>(Result<T>)
    {
        public static Result<T> From(T value) => new(value, null);
    }
}
