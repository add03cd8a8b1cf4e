using Grpc.Core;
using Grpc.Health.V1;
using Inference.Server.Protos;

namespace Inference.Tests.EndToEnd;

/// <summary>KServe v2 over gRPC (Triton's GRPCInferenceService) against the real server, the real ONNX Runtime
/// backend and the small ResNet.</summary>
public sealed class GrpcInferenceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly long[] TinyShape = [1, 3, 64, 64];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => fixture.Server.Grpc;

    [Fact]
    public async Task LiveReadyAndModelReady_FollowTheServer()
    {
        Assert.True((await Grpc.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: Ct)).Live);
        Assert.True((await Grpc.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: Ct)).Ready);
        Assert.True((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "resnet_tiny" }, cancellationToken: Ct)).Ready);
        Assert.True((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "resnet_tiny", Version = "1" }, cancellationToken: Ct)).Ready);
        Assert.False((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "resnet_tiny", Version = "2" }, cancellationToken: Ct)).Ready);
        Assert.False((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "broken" }, cancellationToken: Ct)).Ready);
        Assert.False((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "no_such_model" }, cancellationToken: Ct)).Ready);
    }

    [Fact]
    public async Task ServerMetadata_NamesTheServerAndItsExtensions()
    {
        var meta = await Grpc.ServerMetadataAsync(new ServerMetadataRequest(), cancellationToken: Ct);

        Assert.Equal("aspire-inference", meta.Name);
        Assert.False(string.IsNullOrEmpty(meta.Version));
        Assert.Contains("classification", meta.Extensions);
        Assert.Contains("model_repository", meta.Extensions);
        Assert.Contains("statistics", meta.Extensions);
    }

    [Fact]
    public async Task ModelMetadata_ReportsVariableBatchAsMinusOne()
    {
        var meta = await Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "resnet_tiny" }, cancellationToken: Ct);

        Assert.Equal("resnet_tiny", meta.Name);
        Assert.Equal(["1"], meta.Versions);
        Assert.Equal("onnxruntime_onnx", meta.Platform);
        var input = Assert.Single(meta.Inputs);
        Assert.Equal(("input", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 3, 64, 64], input.Shape);
        var output = Assert.Single(meta.Outputs);
        Assert.Equal(("logits", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([-1L, 10], output.Shape);
    }

    [Fact]
    public async Task ModelConfig_ReturnsTheCompletedConfig()
    {
        var config = (await Grpc.ModelConfigAsync(new ModelConfigRequest { Name = "resnet_tiny" }, cancellationToken: Ct)).Config;

        Assert.Equal("resnet_tiny", config.Name);
        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal("onnxruntime", config.Backend);
        var input = Assert.Single(config.Input);
        Assert.Equal(("input", DataType.TypeFp32), (input.Name, input.DataType));
        Assert.Equal([3L, 64, 64], input.Dims);
        Assert.Equal([10L], Assert.Single(config.Output).Dims);
        Assert.Equal([2, 4], config.DynamicBatching.PreferredBatchSize);
    }

    [Fact]
    public async Task ModelInfer_RawInputContents_MatchADirectOnnxRuntimeRun()
    {
        long[] shape = [2, 3, 64, 64];
        var data = Kserve.RandomFloats(2 * 3 * 64 * 64, seed: 11);

        var reply = await Grpc.ModelInferAsync(E2E.RawRequest("resnet_tiny", "input", shape, data, "logits", id: "raw-1"), cancellationToken: Ct);

        Assert.Equal(("resnet_tiny", "1", "raw-1"), (reply.ModelName, reply.ModelVersion, reply.Id));
        var output = Assert.Single(reply.Outputs);
        Assert.Equal(("logits", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([2L, 10], output.Shape);
        Reference.AssertClose(Reference.Run(fixture.TinyModelPath, "input", shape, data, "logits"), E2E.Floats(Assert.Single(reply.RawOutputContents)));
    }

    [Fact]
    public async Task ModelInfer_TypedFp32Contents_MatchADirectOnnxRuntimeRun()
    {
        var data = Kserve.RandomFloats(3 * 64 * 64, seed: 12);
        var request = new ModelInferRequest { ModelName = "resnet_tiny", ModelVersion = "1" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
        {
            Name = "input", Datatype = "FP32", Shape = { TinyShape }, Contents = new InferTensorContents { Fp32Contents = { data } },
        });

        var reply = await Grpc.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal([1L, 10], reply.Outputs[0].Shape);
        Reference.AssertClose(Reference.Run(fixture.TinyModelPath, "input", TinyShape, data, "logits"), E2E.Floats(reply.RawOutputContents[0]));
    }

    [Fact]
    public async Task ModelInfer_ClassificationParameter_ReturnsTopNAsBytes()
    {
        var data = Kserve.RandomFloats(3 * 64 * 64, seed: 13);
        var request = E2E.RawRequest("resnet_tiny", "input", TinyShape, data, "logits");
        request.Outputs[0].Parameters["classification"] = new InferParameter { Int64Param = 3 };

        var reply = await Grpc.ModelInferAsync(request, cancellationToken: Ct);

        var output = Assert.Single(reply.Outputs);
        Assert.Equal("BYTES", output.Datatype);
        Assert.Equal([1L, 3], output.Shape);
        var entries = E2E.BytesElements(reply.RawOutputContents[0].Span).Select(e => e.Split(':')).ToArray();
        var top = E2E.Top(Reference.Run(fixture.TinyModelPath, "input", TinyShape, data, "logits"), 3);
        Assert.Equal(3, entries.Length);
        for (var k = 0; k < 3; k++)
        {
            Assert.Equal(top[k].Index.ToString(System.Globalization.CultureInfo.InvariantCulture), entries[k][1]);
            Assert.Equal($"class_{top[k].Index:D4}", entries[k][2]);
            Assert.Equal(top[k].Score, float.Parse(entries[k][0], System.Globalization.CultureInfo.InvariantCulture), 1e-4f);
        }
    }

    [Fact]
    public async Task ModelStreamInfer_AnswersEveryRequest_AndABadOneWithAnErrorMessageWhileTheStreamGoesOn()
    {
        var data = Kserve.RandomFloats(16, seed: 14);
        using var call = Grpc.ModelStreamInfer(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(E2E.RawRequest("identity", "INPUT0", [1, 16], data, id: "a"), Ct);
        await call.RequestStream.WriteAsync(E2E.RawRequest("identity", "INPUT0", [1, 8], data[..8], id: "bad"), Ct);
        await call.RequestStream.WriteAsync(E2E.RawRequest("identity", "INPUT0", [1, 16], data, id: "b"), Ct);
        await call.RequestStream.WriteAsync(E2E.RawRequest("no_such_model", "INPUT0", [1, 16], data, id: "c"), Ct);
        await call.RequestStream.WriteAsync(E2E.RawRequest("identity", "INPUT0", [1, 16], data, id: "d"), Ct);
        await call.RequestStream.CompleteAsync();

        var replies = new List<ModelStreamInferResponse>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync(Ct))
        {
            replies.Add(reply);
        }

        Assert.Equal(5, replies.Count);
        var errors = replies.Where(r => r.ErrorMessage.Length > 0).Select(r => r.ErrorMessage).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, errors.Length);
        Assert.Contains("Request for unknown model: 'no_such_model'", errors[0], StringComparison.Ordinal);
        Assert.Contains("unexpected shape for input 'INPUT0'", errors[1], StringComparison.Ordinal);
        var good = replies.Where(r => r.ErrorMessage.Length == 0).Select(r => r.InferResponse).OrderBy(r => r.Id, StringComparer.Ordinal).ToArray();
        Assert.Equal(["a", "b", "d"], good.Select(r => r.Id));
        Assert.All(good, r => Assert.Equal(data, E2E.Floats(r.RawOutputContents[0])));
    }

    [Fact]
    public async Task ModelStatistics_CountInferencesExecutionsAndBatches()
    {
        var request = new ModelStatisticsRequest { Name = "identity" };
        var before = Assert.Single((await Grpc.ModelStatisticsAsync(request, cancellationToken: Ct)).ModelStats);
        var data = Kserve.RandomFloats(3 * 16, seed: 15);

        await Grpc.ModelInferAsync(E2E.RawRequest("identity", "INPUT0", [1, 16], data[..16]), cancellationToken: Ct);
        await Grpc.ModelInferAsync(E2E.RawRequest("identity", "INPUT0", [3, 16], data), cancellationToken: Ct);
        var after = Assert.Single((await Grpc.ModelStatisticsAsync(request, cancellationToken: Ct)).ModelStats);

        Assert.Equal(("identity", "1"), (after.Name, after.Version));
        Assert.Equal(4ul, after.InferenceCount - before.InferenceCount);
        Assert.Equal(2ul, after.ExecutionCount - before.ExecutionCount);
        Assert.Equal(2ul, after.InferenceStats.Success.Count - before.InferenceStats.Success.Count);
        Assert.Equal(before.InferenceStats.Fail.Count, after.InferenceStats.Fail.Count);
        Assert.True(after.InferenceStats.ComputeInfer.Ns > before.InferenceStats.ComputeInfer.Ns);
        Assert.True(after.LastInference > 0);
        var batch3 = Assert.Single(after.BatchStats, b => b.BatchSize == 3);
        var batch3Before = before.BatchStats.SingleOrDefault(b => b.BatchSize == 3)?.ComputeInfer.Count ?? 0;
        Assert.Equal(1ul, batch3.ComputeInfer.Count - batch3Before);
        Assert.Contains(after.BatchStats, b => b.BatchSize == 1);
    }

    [Fact]
    public async Task RepositoryIndex_ReportsTheBrokenModelUnavailableWithItsReason()
    {
        var index = await Grpc.RepositoryIndexAsync(new RepositoryIndexRequest(), cancellationToken: Ct);

        var broken = Assert.Single(index.Models, m => m.Name == "broken");
        Assert.Equal("UNAVAILABLE", broken.State);
        Assert.Contains("failed to load 'broken'", broken.Reason, StringComparison.Ordinal);
        Assert.Contains(index.Models, m => m is { Name: "resnet_tiny", Version: "1", State: "READY" });
        var readyOnly = await Grpc.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true }, cancellationToken: Ct);
        Assert.DoesNotContain(readyOnly.Models, m => m.Name == "broken");
        Assert.Equal(["identity", "queue_limited", "resnet_tiny"], readyOnly.Models.Select(m => m.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task HealthCheck_IsServing()
    {
        var health = new Health.HealthClient(fixture.Server.Channel);

        var server = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        var service = await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" }, cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, server.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, service.Status);
        await E2E.AssertRpcErrorAsync(
            async () => await health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }, cancellationToken: Ct), StatusCode.NotFound);
    }
}
