using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Google.Protobuf;
using Inference.Server.SharedMemory;
using Inference.Server.Protos;

namespace Inference.Tests.EndToEnd;

/// <summary>CUDA shared memory on the real server. Where this machine has no CUDA runtime or device (CI), registering
/// answers UNAVAILABLE (HTTP 503) naming why and the server goes on serving; status and unregister work either way.</summary>
public sealed class CudaSharedMemoryTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static bool NoCuda => CudaIpc.Availability(0) is { Code: Inference.Server.Core.ErrorCode.Unavailable };

    [Fact]
    public async Task Register_WithoutCuda_IsUnavailableOverHttp()
    {
        Assert.SkipUnless(NoCuda, "this machine has CUDA; the GPU bench (bench/gpu/cuda-shm.sh) covers registration there");
        var body = new JsonObject
        {
            ["raw_handle"] = new JsonObject { ["b64"] = Convert.ToBase64String(new byte[64]) },
            ["device_id"] = 0,
            ["byte_size"] = 1024,
        };
        using var response = await fixture.Server.Http.PostAsync("/v2/cudasharedmemory/region/gpu_in/register", Kserve.Json(body), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.StartsWith("CUDA shared memory is unavailable: ", await Kserve.ErrorAsync(response));
        Assert.Equal("[]", await fixture.Server.Http.GetStringAsync("/v2/cudasharedmemory/status", Ct));
        Assert.Equal(HttpStatusCode.OK, (await fixture.Server.Http.PostAsync("/v2/cudasharedmemory/unregister", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.Server.Http.GetAsync("/v2/health/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task Register_WithoutCuda_IsUnavailableOverGrpc()
    {
        Assert.SkipUnless(NoCuda, "this machine has CUDA; the GPU bench (bench/gpu/cuda-shm.sh) covers registration there");
        var e = await Assert.ThrowsAsync<RpcException>(() => fixture.Server.Grpc.CudaSharedMemoryRegisterAsync(new CudaSharedMemoryRegisterRequest
        {
            Name = "gpu_in", RawHandle = ByteString.CopyFrom(new byte[64]), DeviceId = 0, ByteSize = 1024,
        }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.StartsWith("CUDA shared memory is unavailable: ", e.Status.Detail);
        Assert.Empty((await fixture.Server.Grpc.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest(), cancellationToken: Ct)).Regions);
    }

    [Fact]
    public async Task Register_MalformedBodies_Are400()
    {
        var http = fixture.Server.Http;
        using var noHandle = await http.PostAsync("/v2/cudasharedmemory/region/x/register", Kserve.Json(new JsonObject { ["byte_size"] = 16, ["device_id"] = 0 }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, noHandle.StatusCode);
        Assert.Equal("Shared memory register request has no 'raw_handle' field", await Kserve.ErrorAsync(noHandle));
        using var badBase64 = await http.PostAsync("/v2/cudasharedmemory/region/x/register", Kserve.Json(new JsonObject
        {
            ["raw_handle"] = new JsonObject { ["b64"] = "not base64!" }, ["byte_size"] = 16, ["device_id"] = 0,
        }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badBase64.StatusCode);
        Assert.Equal("'raw_handle' must be a valid base64 encoded cudaIpcMemHandle_t", await Kserve.ErrorAsync(badBase64));
    }
}
