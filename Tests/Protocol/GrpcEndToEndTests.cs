using System.Buffers.Binary;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Inference.Server.Protos;

namespace Inference.Tests.Protocol;

public class GrpcEndToEndTests(ProtocolHostFixture fixture) : IClassFixture<ProtocolHostFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Client => new(fixture.Host.Channel);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HealthAndMetadata_FollowTheServer()
    {
        Assert.True((await Client.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: Ct)).Live);
        Assert.True((await Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: Ct)).Ready);
        Assert.True((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "identity", Version = "1" }, cancellationToken: Ct)).Ready);
        Assert.False((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "not_ready" }, cancellationToken: Ct)).Ready);
        var server = await Client.ServerMetadataAsync(new ServerMetadataRequest(), cancellationToken: Ct);
        Assert.Contains("classification", server.Extensions);
        var model = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "identity" }, cancellationToken: Ct);
        Assert.Equal("FP32", model.Inputs[0].Datatype);
        Assert.Equal([-1L, 16L], model.Inputs[0].Shape);
        var config = await Client.ModelConfigAsync(new ModelConfigRequest { Name = "identity" }, cancellationToken: Ct);
        Assert.Equal(8, config.Config.MaxBatchSize);
    }

    [Fact]
    public async Task ModelInfer_RawContents_ComeBackAsRawOutputContents()
    {
        var raw = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(raw, 1.25f);
        BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(8), -7f);
        var request = Request("FP32", [3]);
        request.RawInputContents.Add(ByteString.CopyFrom(raw));
        request.Parameters["priority"] = new InferParameter { Int64Param = 3 };
        request.Parameters["timeout"] = new InferParameter { Uint64Param = 900 };

        var reply = await Client.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal(("identity", "1", "req-1"), (reply.ModelName, reply.ModelVersion, reply.Id));
        Assert.Equal(("OUTPUT0", "FP32"), (reply.Outputs[0].Name, reply.Outputs[0].Datatype));
        Assert.Equal([3L], reply.Outputs[0].Shape);
        Assert.Null(reply.Outputs[0].Contents);
        Assert.Equal(raw, reply.RawOutputContents[0].ToByteArray());
        Assert.Equal((3u, 900ul), (fixture.Host.Server.LastRequest!.Priority, fixture.Host.Server.LastRequest.TimeoutMicroseconds));
    }

    [Theory]
    [InlineData("INT16")]
    [InlineData("UINT8")]
    [InlineData("INT64")]
    [InlineData("FP64")]
    [InlineData("BOOL")]
    [InlineData("BYTES")]
    public async Task ModelInfer_TypedContents_AreConvertedToTheRawLayout(string datatype)
    {
        var request = Request(datatype, [2]);
        var contents = new InferTensorContents();
        byte[] expected;
        switch (datatype)
        {
            case "INT16": contents.IntContents.Add([-2, 300]); expected = [0xFE, 0xFF, 0x2C, 0x01]; break;
            case "UINT8": contents.UintContents.Add([1, 255]); expected = [1, 255]; break;
            case "INT64": contents.Int64Contents.Add([-1, 1]); expected = [.. Enumerable.Repeat((byte)0xFF, 8), 1, 0, 0, 0, 0, 0, 0, 0]; break;
            case "FP64": contents.Fp64Contents.Add([0.5, 0]); expected = [0, 0, 0, 0, 0, 0, 0xE0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0]; break;
            case "BOOL": contents.BoolContents.Add([true, false]); expected = [1, 0]; break;
            default: contents.BytesContents.Add([ByteString.CopyFromUtf8("hi"), ByteString.Empty]); expected = [2, 0, 0, 0, (byte)'h', (byte)'i', 0, 0, 0, 0]; break;
        }
        request.Inputs[0].Contents = contents;

        var reply = await Client.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal(expected, reply.RawOutputContents[0].ToByteArray());
    }

    [Fact]
    public async Task ModelInfer_Classification_ReturnsBytesOutput()
    {
        var request = Request("FP32", [3]);
        request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 0.2f, 0.5f, 0.3f } };
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor
        {
            Name = "OUTPUT0",
            Parameters = { ["classification"] = new InferParameter { Int64Param = 1 } },
        });

        var reply = await Client.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal("BYTES", reply.Outputs[0].Datatype);
        var bytes = reply.RawOutputContents[0].ToByteArray();
        Assert.Equal("0.500000:1", System.Text.Encoding.UTF8.GetString(bytes, 4, bytes.Length - 4));
    }

    [Fact]
    public async Task ModelInfer_Errors_MapToStatusCodes()
    {
        await AssertStatusAsync(StatusCode.NotFound, "unknown model 'nope'", WithModel(Request("FP32", [1], 1f), "nope"));
        await AssertStatusAsync(StatusCode.Unavailable, "is not ready", WithModel(Request("FP32", [1], 1f), "not_ready"));
        await AssertStatusAsync(StatusCode.InvalidArgument, "unknown datatype 'FP8'", Request("FP8", [1], 1f));
        await AssertStatusAsync(StatusCode.InvalidArgument, "contents hold 1 elements but its shape needs 2", Request("FP32", [2], 1f));
        await AssertStatusAsync(StatusCode.InvalidArgument, "has neither 'contents' nor raw_input_contents", Request("FP32", [1]));
        var twoRaw = Request("FP32", [1]);
        twoRaw.RawInputContents.Add([ByteString.CopyFrom(new byte[4]), ByteString.CopyFrom(new byte[4])]);
        await AssertStatusAsync(StatusCode.InvalidArgument, "expected 1 raw_input_contents", twoRaw);
        var shortRaw = Request("FP32", [2]);
        shortRaw.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        await AssertStatusAsync(StatusCode.InvalidArgument, "4 bytes of data do not match 2 elements", shortRaw);
        var badVersion = Request("FP32", [1], 1f);
        badVersion.ModelVersion = "latest";
        await AssertStatusAsync(StatusCode.InvalidArgument, "not a non-negative integer", badVersion);
        var fp16Typed = Request("FP16", [1]);
        fp16Typed.Inputs[0].Contents = new InferTensorContents();
        await AssertStatusAsync(StatusCode.InvalidArgument, "use raw_input_contents", fp16Typed);
    }

    [Theory]
    [InlineData(new byte[] { 0x3A, 0x05, 1, 2 }, "runs past the end of the message")]
    [InlineData(new byte[] { 0x0A, 0x02, (byte)'i', 0xFF }, "malformed ModelInferRequest")]
    [InlineData(new byte[] { 0x0B }, "unsupported wire type 3")]
    [InlineData(new byte[] { 0x08, 0x80 }, "truncated varint")]
    public async Task ModelInfer_MalformedProtobuf_IsInvalidArgumentAndTheServerGoesOn(byte[] payload, string message)
    {
        var raw = new Method<byte[], byte[]>(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer",
            Marshallers.Create((byte[] b) => b, b => b), Marshallers.Create((byte[] b) => b, b => b));
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Host.Channel.CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(cancellationToken: Ct), payload));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(message, e.Status.Detail);

        var reply = await Client.ModelInferAsync(Request("FP32", [1], 2f), cancellationToken: Ct);
        Assert.Equal("OUTPUT0", reply.Outputs[0].Name);
    }

    [Fact]
    public async Task ModelStreamInfer_AnswersEveryRequestWithResponseOrErrorMessage()
    {
        using var call = Client.ModelStreamInfer(cancellationToken: Ct);
        for (var i = 0; i < 5; i++)
        {
            var request = i == 2 ? WithModel(Request("FP32", [1], i), "nope") : Request("FP32", [1], i);
            request.Id = $"s{i}";
            await call.RequestStream.WriteAsync(request, Ct);
        }
        await call.RequestStream.CompleteAsync();

        var replies = new List<ModelStreamInferResponse>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync(Ct))
        {
            replies.Add(reply);
        }

        Assert.Equal(5, replies.Count);
        var error = Assert.Single(replies, r => r.ErrorMessage.Length > 0);
        Assert.Contains("unknown model 'nope'", error.ErrorMessage);
        Assert.Equal(("s2", "nope"), (error.InferResponse.Id, error.InferResponse.ModelName));
        Assert.Empty(error.InferResponse.Outputs);
        var ok = replies.Where(r => r.ErrorMessage.Length == 0).OrderBy(r => r.InferResponse.Id).ToArray();
        Assert.Equal(["s0", "s1", "s3", "s4"], ok.Select(r => r.InferResponse.Id));
        Assert.Equal(4f, BinaryPrimitives.ReadSingleLittleEndian(ok[3].InferResponse.RawOutputContents[0].Span));
    }

    [Fact]
    public async Task StatisticsAndRepository_WorkOverGrpc()
    {
        await Client.ModelInferAsync(Request("FP32", [1], 1f), cancellationToken: Ct);

        var stats = await Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "identity" }, cancellationToken: Ct);
        var index = await Client.RepositoryIndexAsync(new RepositoryIndexRequest(), cancellationToken: Ct);
        await Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest
        {
            ModelName = "identity",
            Parameters = { ["config"] = new ModelRepositoryParameter { StringParam = "{}" } },
        }, cancellationToken: Ct);
        await Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "identity" }, cancellationToken: Ct);

        Assert.True(stats.ModelStats[0].InferenceStats.Success.Count >= 1);
        Assert.Equal(["identity", "not_ready"], index.Models.Select(m => m.Name));
        Assert.Equal("{}", fixture.Host.Server.LastLoadedConfig);
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "nope" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task Trace_IsUnimplementedWithAMessage_SharedMemoryIsServed()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.TraceSettingAsync(new TraceSettingRequest(), cancellationToken: Ct));

        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
        Assert.Contains("trace settings", e.Status.Detail);
        Assert.Empty((await Client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest(), cancellationToken: Ct)).Regions);
    }

    [Fact]
    public async Task HealthCheck_ReflectsReadiness()
    {
        var health = new Health.HealthClient(fixture.Host.Channel);

        var ready = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        fixture.Host.Server.Ready = false;
        HealthCheckResponse notReady;
        try
        {
            notReady = await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" }, cancellationToken: Ct);
        }
        finally
        {
            fixture.Host.Server.Ready = true;
        }

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, ready.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, notReady.Status);
    }

    private static ModelInferRequest Request(string datatype, long[] shape, params float[] fp32)
    {
        var request = new ModelInferRequest { ModelName = "identity", Id = "req-1" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = datatype, Shape = { shape } };
        if (fp32.Length > 0)
        {
            input.Contents = new InferTensorContents { Fp32Contents = { fp32 } };
        }
        request.Inputs.Add(input);
        return request;
    }

    private static ModelInferRequest WithModel(ModelInferRequest request, string model)
    {
        request.ModelName = model;
        return request;
    }

    private async Task AssertStatusAsync(StatusCode code, string message, ModelInferRequest request)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request, cancellationToken: Ct));
        Assert.Equal(code, e.StatusCode);
        Assert.Contains(message, e.Status.Detail);
    }
}
