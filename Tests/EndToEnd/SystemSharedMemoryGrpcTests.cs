using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.SharedMemory;

namespace Inference.Tests.EndToEnd;

/// <summary>System shared memory over gRPC (Triton's SystemSharedMemory* RPCs and the tensor parameters
/// <c>shared_memory_*</c>) against the real server and the identity model, with real POSIX shared memory objects.</summary>
public sealed class SystemSharedMemoryGrpcTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Bytes = 16 * sizeof(float);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => fixture.Server.Grpc;

    [Fact]
    public async Task RegisterInferStatusUnregister_OverGrpc()
    {
        using var shm = new ShmFile(4096);
        var input = Kserve.RandomFloats(16, seed: 11);
        shm.Write(512, input);
        var name = SystemSharedMemoryHttpTests.Unique("g");
        await Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = name, Key = shm.Key, Offset = 0, ByteSize = 4096 }, cancellationToken: Ct);

        var request = new ModelInferRequest { ModelName = "identity" };
        request.Inputs.Add(Input(Shm(name, 512, Bytes)));
        request.Outputs.Add(Output(Shm(name, 2048, 1024)));
        var reply = await Grpc.ModelInferAsync(request, cancellationToken: Ct);

        var output = Assert.Single(reply.Outputs);
        Assert.Equal(name, output.Parameters["shared_memory_region"].StringParam);
        Assert.Equal(Bytes, output.Parameters["shared_memory_byte_size"].Int64Param);
        Assert.Equal(2048, output.Parameters["shared_memory_offset"].Int64Param);
        Assert.True(Assert.Single(reply.RawOutputContents).IsEmpty);
        Assert.Equal(input, shm.ReadFloats(2048, 16));

        var status = await Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = name }, cancellationToken: Ct);
        var region = status.Regions[name];
        Assert.Equal((name, shm.Key, 0UL, 4096UL), (region.Name, region.Key, region.Offset, region.ByteSize));
        var all = await Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest(), cancellationToken: Ct);
        Assert.True(all.Regions.ContainsKey(name));

        await Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = name }, cancellationToken: Ct);
        var gone = await Assert.ThrowsAsync<RpcException>(() =>
            Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = name }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task UnregisterWithoutAName_UnregistersEverySystemRegion()
    {
        using var shm = new ShmFile(4096);
        var names = new[] { SystemSharedMemoryHttpTests.Unique("a"), SystemSharedMemoryHttpTests.Unique("b") };
        foreach (var n in names)
        {
            await Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = n, Key = shm.Key, ByteSize = 64 }, cancellationToken: Ct);
        }

        await Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest(), cancellationToken: Ct);

        var status = await Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest(), cancellationToken: Ct);
        Assert.DoesNotContain(names, status.Regions.ContainsKey);
    }

    [Fact]
    public async Task RawInputs_CountOnlyTheInputsNotInSharedMemory()
    {
        using var shm = new ShmFile(4096);
        var name = SystemSharedMemoryHttpTests.Unique("g");
        await Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = name, Key = shm.Key, ByteSize = 4096 }, cancellationToken: Ct);
        try
        {
            // Raw input, output into shared memory.
            var input = Kserve.RandomFloats(16, seed: 12);
            var request = new ModelInferRequest { ModelName = "identity" };
            request.Inputs.Add(Input(null));
            request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(input.AsSpan())));
            request.Outputs.Add(Output(Shm(name, 0, Bytes)));
            await Grpc.ModelInferAsync(request, cancellationToken: Ct);
            Assert.Equal(input, shm.ReadFloats(0, 16));

            // Input from shared memory with a raw_input_contents entry too many.
            var extra = new ModelInferRequest { ModelName = "identity" };
            extra.Inputs.Add(Input(Shm(name, 0, Bytes)));
            extra.RawInputContents.Add(ByteString.CopyFrom(new byte[Bytes]));
            var e = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(extra, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Contains("expected 0 raw_input_contents", e.Status.Detail);
        }
        finally
        {
            await Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = name }, cancellationToken: Ct);
        }
    }

    [Fact]
    public async Task BadRegistrationsAndParameters_AreClearErrors()
    {
        using var shm = new ShmFile(1024);
        var name = SystemSharedMemoryHttpTests.Unique("g");

        var bad = await Assert.ThrowsAsync<RpcException>(() => Grpc.SystemSharedMemoryRegisterAsync(
            new SystemSharedMemoryRegisterRequest { Name = name, Key = "/../../etc/shadow", ByteSize = 16 }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("invalid shared memory key", bad.Status.Detail);

        var big = await Assert.ThrowsAsync<RpcException>(() => Grpc.SystemSharedMemoryRegisterAsync(
            new SystemSharedMemoryRegisterRequest { Name = name, Key = shm.Key, Offset = 1000, ByteSize = 100 }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, big.StatusCode);

        await Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = name, Key = shm.Key, ByteSize = 1024 }, cancellationToken: Ct);
        try
        {
            var twice = await Assert.ThrowsAsync<RpcException>(() => Grpc.SystemSharedMemoryRegisterAsync(
                new SystemSharedMemoryRegisterRequest { Name = name, Key = shm.Key, ByteSize = 16 }, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.AlreadyExists, twice.StatusCode);

            var wrongType = Shm(name, 0, Bytes);
            wrongType["shared_memory_byte_size"] = new InferParameter { StringParam = "64" };
            await ExpectInvalidAsync(Input(wrongType), "invalid value type for 'shared_memory_byte_size' parameter for tensor 'INPUT0', expected a non-negative int64_param.");
            var noRegion = new Dictionary<string, InferParameter> { ["shared_memory_offset"] = new() { Int64Param = 0 } };
            await ExpectInvalidAsync(Input(noRegion), "'shared_memory_offset' can not be specified without 'shared_memory_region' parameter for tensor 'INPUT0'");
            await ExpectInvalidAsync(Input(Shm(name, 1000, Bytes)), $"Invalid offset + byte size for shared memory region: '{name}'");
            var withContents = Input(Shm(name, 0, Bytes));
            withContents.Contents = new InferTensorContents();
            withContents.Contents.Fp32Contents.Add(new float[16]);
            await ExpectInvalidAsync(withContents, "unexpected 'content' provided when using shared memory for input tensor 'INPUT0'");
        }
        finally
        {
            await Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = name }, cancellationToken: Ct);
        }
    }

    private async Task ExpectInvalidAsync(ModelInferRequest.Types.InferInputTensor input, string messageStart)
    {
        var request = new ModelInferRequest { ModelName = "identity" };
        request.Inputs.Add(input);
        var e = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(request, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith(messageStart, e.Status.Detail);
    }

    private static Dictionary<string, InferParameter> Shm(string region, long offset, long byteSize) => new()
    {
        ["shared_memory_region"] = new() { StringParam = region },
        ["shared_memory_offset"] = new() { Int64Param = offset },
        ["shared_memory_byte_size"] = new() { Int64Param = byteSize },
    };

    private static ModelInferRequest.Types.InferInputTensor Input(Dictionary<string, InferParameter>? parameters)
    {
        var t = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32", Shape = { 1, 16 } };
        if (parameters is not null)
        {
            t.Parameters.Add(parameters);
        }
        return t;
    }

    private static ModelInferRequest.Types.InferRequestedOutputTensor Output(Dictionary<string, InferParameter> parameters)
    {
        var t = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" };
        t.Parameters.Add(parameters);
        return t;
    }
}
