using System.Net;
using System.Text.Json.Nodes;
using Inference.Server.SharedMemory;
using Inference.Tests.ModelTools;
using Inference.Tests.SharedMemory;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.EndToEnd;

/// <summary>System shared memory over HTTP (Triton's <c>/v2/systemsharedmemory</c> and the infer parameters
/// <c>shared_memory_region</c>, <c>shared_memory_offset</c>, <c>shared_memory_byte_size</c>) against the real server and
/// the identity model (FP32 [batch, 16]), with real POSIX shared memory objects in /dev/shm.</summary>
public sealed class SystemSharedMemoryHttpTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Bytes = 16 * sizeof(float);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task RegisterInferStatusUnregister_InputsReadFromAndOutputsWrittenToTheRegions()
    {
        using var shm = new ShmFile(8192);
        var input = Kserve.RandomFloats(16, seed: 7);
        shm.Write(4096 + 100, input);
        var inName = Unique("in");
        var outName = Unique("out");
        await RegisterOkAsync(inName, shm.Key, offset: 4096, byteSize: 1024);
        await RegisterOkAsync(outName, shm.Key, offset: 0, byteSize: 1024);

        using var response = await Http.PostAsync("/v2/models/identity/infer", Kserve.Json(new JsonObject
        {
            ["inputs"] = new JsonArray(ShmInput(inName, offset: 100)),
            ["outputs"] = new JsonArray(ShmOutput(outName, offset: 200, byteSize: 512)),
        }), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!;
        Assert.Equal("OUTPUT0", output["name"]!.GetValue<string>());
        Assert.Equal([1L, 16], output["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Null(output["data"]);
        Assert.Equal(outName, output["parameters"]!["shared_memory_region"]!.GetValue<string>());
        Assert.Equal(Bytes, output["parameters"]!["shared_memory_byte_size"]!.GetValue<int>());
        Assert.Equal(200, output["parameters"]!["shared_memory_offset"]!.GetValue<int>());
        Assert.Equal(input, shm.ReadFloats(200, 16));

        var one = JsonNode.Parse(await Http.GetStringAsync($"/v2/systemsharedmemory/region/{inName}/status", Ct))!.AsArray();
        var region = Assert.Single(one)!;
        Assert.Equal((inName, shm.Key, 4096, 1024),
            (region["name"]!.GetValue<string>(), region["key"]!.GetValue<string>(), region["offset"]!.GetValue<int>(), region["byte_size"]!.GetValue<int>()));
        var all = JsonNode.Parse(await Http.GetStringAsync("/v2/systemsharedmemory/status", Ct))!.AsArray();
        Assert.Contains(all, r => r!["name"]!.GetValue<string>() == outName);

        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync($"/v2/systemsharedmemory/region/{inName}/unregister", null, Ct)).StatusCode);
        using var gone = await Http.GetAsync($"/v2/systemsharedmemory/region/{inName}/status", Ct);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal($"Unable to find system shared memory region: '{inName}'", await Kserve.ErrorAsync(gone));
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync($"/v2/systemsharedmemory/region/{outName}/unregister", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task ShmInput_WithJsonOutput_AnswersTheData()
    {
        using var shm = new ShmFile(4096);
        var input = Kserve.RandomFloats(16, seed: 8);
        shm.Write(0, input);
        var name = Unique("in");
        await RegisterOkAsync(name, shm.Key, offset: 0, byteSize: 4096);
        try
        {
            using var response = await Http.PostAsync("/v2/models/identity/infer", Kserve.Json(new JsonObject
            {
                ["inputs"] = new JsonArray(ShmInput(name, offset: 0)),
            }), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var data = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!["data"]!.AsArray();
            Assert.Equal(input, data.Select(v => v!.GetValue<float>()));
        }
        finally
        {
            await Http.PostAsync($"/v2/systemsharedmemory/region/{name}/unregister", null, Ct);
        }
    }

    [Fact]
    public async Task ShmOutput_WithBinaryDataOutputRequested_IsStillAnsweredByItsParameters()
    {
        using var shm = new ShmFile(4096);
        var name = Unique("bin");
        await RegisterOkAsync(name, shm.Key, 0, 4096);
        try
        {
            var input = Kserve.RandomFloats(16, seed: 10);
            using var response = await Http.PostAsync("/v2/models/identity/infer", Kserve.Json(new JsonObject
            {
                ["parameters"] = new JsonObject { ["binary_data_output"] = true },
                ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], input)),
                ["outputs"] = new JsonArray(ShmOutput(name, offset: 0, byteSize: Bytes)),
            }), Ct);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
            var output = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!;
            Assert.Null(output["parameters"]!["binary_data_size"]);
            Assert.Equal(name, output["parameters"]!["shared_memory_region"]!.GetValue<string>());
            Assert.Equal(input, shm.ReadFloats(0, 16));
        }
        finally
        {
            await Http.PostAsync($"/v2/systemsharedmemory/region/{name}/unregister", null, Ct);
        }
    }

    [Theory]
    [InlineData("/../etc/passwd")]
    [InlineData("/a/b")]
    [InlineData("..")]
    [InlineData("/")]
    [InlineData("")]
    [InlineData("/..")]
    [InlineData("/.")]
    public async Task Register_KeyOutsideDevShm_Is400WithoutSayingWhatExists(string key)
    {
        using var response = await RegisterAsync(Unique("bad"), key, 0, 16);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("invalid shared memory key", await Kserve.ErrorAsync(response));
    }

    [Fact]
    public async Task Register_SymbolicLinkInDevShm_IsNotFollowed()
    {
        var link = Path.Join("/dev/shm", "aspire-test-link-" + Guid.NewGuid().ToString("N"));
        using var target = new TempDirectory();
        var outside = Path.Combine(target.Path, "secret");
        await File.WriteAllBytesAsync(outside, new byte[4096], Ct);
        File.CreateSymbolicLink(link, outside);
        try
        {
            using var response = await RegisterAsync(Unique("link"), "/" + Path.GetFileName(link), 0, 16);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.StartsWith($"Unable to open shared memory region: '/{Path.GetFileName(link)}'", await Kserve.ErrorAsync(response));
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Fact]
    public async Task Register_Errors_AreClear()
    {
        using var shm = new ShmFile(4096);
        var name = Unique("r");

        using (var missing = await RegisterAsync(name, "/aspire-test-missing-" + Guid.NewGuid().ToString("N"), 0, 16))
        {
            Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
            Assert.StartsWith("Unable to open shared memory region", await Kserve.ErrorAsync(missing));
        }
        using (var tooLong = await RegisterAsync(name, shm.Key, 4000, 100))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
            Assert.StartsWith($"failed to register shared memory region '{name}': invalid args", await Kserve.ErrorAsync(tooLong));
        }
        using (var zero = await RegisterAsync(name, shm.Key, 0, 0))
        {
            Assert.Equal(HttpStatusCode.BadRequest, zero.StatusCode);
        }
        using (var noKey = await Http.PostAsync($"/v2/systemsharedmemory/region/{name}/register", Kserve.Json(new JsonObject { ["byte_size"] = 16 }), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
            Assert.Equal("Shared memory register request has no 'key' field", await Kserve.ErrorAsync(noKey));
        }
        using (var noName = await Http.PostAsync("/v2/systemsharedmemory/register", Kserve.Json(new JsonObject { ["key"] = shm.Key, ["byte_size"] = 16 }), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noName.StatusCode);
            Assert.Equal("'region name' is necessary to register system shared memory region", await Kserve.ErrorAsync(noName));
        }
        await RegisterOkAsync(name, shm.Key, 0, 4096);
        using (var twice = await RegisterAsync(name, shm.Key, 0, 16))
        {
            Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
            Assert.Equal($"shared memory region '{name}' already in manager", await Kserve.ErrorAsync(twice));
        }
        await Http.PostAsync($"/v2/systemsharedmemory/region/{name}/unregister", null, Ct);
        Assert.True((await Http.GetAsync("/v2/health/ready", Ct)).IsSuccessStatusCode);
    }

    [Fact]
    public async Task Infer_OutOfRangeOrMismatchedWindows_AreClear400s()
    {
        using var shm = new ShmFile(4096);
        var name = Unique("r");
        await RegisterOkAsync(name, shm.Key, 0, 256);
        try
        {
            await ExpectAsync(new JsonArray(ShmInput(name, offset: 256)), null, HttpStatusCode.BadRequest, $"Invalid offset for shared memory region: '{name}'");
            await ExpectAsync(new JsonArray(ShmInput(name, offset: 250)), null, HttpStatusCode.BadRequest, $"Invalid offset + byte size for shared memory region: '{name}'");
            await ExpectAsync(new JsonArray(ShmInput(name, offset: 0, byteSize: 32)), null, HttpStatusCode.BadRequest, "input 'INPUT0': 32 bytes of data do not match 16 elements");
            await ExpectAsync(new JsonArray(ShmInput("no_such_region", offset: 0)), null, HttpStatusCode.NotFound, "Unable to find shared memory region: 'no_such_region'");
            var json = Kserve.JsonInput("INPUT0", [1, 16], new float[16]);
            await ExpectAsync(new JsonArray(json.DeepClone()), new JsonArray(ShmOutput(name, 0, 32)), HttpStatusCode.BadRequest,
                "shared memory size specified with the request for output 'OUTPUT0' (32 bytes) should be at least 64 bytes to hold the results");
            await ExpectAsync(new JsonArray(json.DeepClone()), new JsonArray(ShmOutput(name, 0, 64), ShmOutput(name, 32, 64, "OUTPUT0")), HttpStatusCode.BadRequest,
                "outputs 'OUTPUT0' and 'OUTPUT0' overlap in shared memory");
            var both = ShmInput(name, 0);
            both["data"] = new JsonArray([.. new float[16].Select(v => (JsonNode)v)]);
            await ExpectAsync(new JsonArray(both), null, HttpStatusCode.BadRequest,
                "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But set 'data' 'shared_memory_region'");
            var noSize = ShmInput(name, 0);
            noSize["parameters"]!.AsObject().Remove("shared_memory_byte_size");
            await ExpectAsync(new JsonArray(noSize), null, HttpStatusCode.BadRequest,
                "'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'INPUT0'");
            var classified = ShmOutput(name, 0, 64);
            classified["parameters"]!["classification"] = 2;
            await ExpectAsync(new JsonArray(json.DeepClone()), new JsonArray(classified), HttpStatusCode.BadRequest,
                "Output can't set both 'shared_memory_region' and 'classification'");
            Assert.True((await Http.GetAsync("/v2/health/ready", Ct)).IsSuccessStatusCode);
        }
        finally
        {
            await Http.PostAsync($"/v2/systemsharedmemory/region/{name}/unregister", null, Ct);
        }
    }

    [Fact]
    public async Task Unregister_WhileARequestUsesTheRegion_KeepsItMappedUntilTheRequestIsDone()
    {
        using var shm = new ShmFile(4096);
        var input = Kserve.RandomFloats(16, seed: 9);
        shm.Write(0, input);
        var name = Unique("busy");
        await RegisterOkAsync(name, shm.Key, 0, 4096);
        var manager = fixture.Server.Services.GetRequiredService<SharedMemoryManager>();
        var region = Assert.Single(manager.Status(SharedMemoryKind.System, name).Value!);
        var server = fixture.Server.Services.GetRequiredService<Inference.Server.Core.IInferenceServer>();

        // queue_limited waits up to a second to form a batch: the request sits in its queue, holding the region.
        var inflight = Http.PostAsync("/v2/models/queue_limited/infer", Kserve.Json(new JsonObject
        {
            ["inputs"] = new JsonArray(ShmInput(name, offset: 0)),
            ["outputs"] = new JsonArray(ShmOutput(name, offset: 1024, byteSize: Bytes)),
        }), Ct);
        await WaitUntilAsync(() => server.GetStatistics("queue_limited").Value!.Sum(s => s.PendingRequests) > 0 || inflight.IsCompleted);
        Assert.False(inflight.IsCompleted, "the request finished before the region could be unregistered under it");

        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync($"/v2/systemsharedmemory/region/{name}/unregister", null, Ct)).StatusCode);
        Assert.True(region.IsMapped);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/v2/systemsharedmemory/region/{name}/status", Ct)).StatusCode);
        using (var later = await Http.PostAsync("/v2/models/identity/infer", Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(ShmInput(name, 0)) }), Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, later.StatusCode);
        }

        using var response = await inflight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(input, shm.ReadFloats(1024, 16));
        await WaitUntilAsync(() => !region.IsMapped);
    }

    [Fact]
    public async Task ServerMetadata_AdvertisesSharedMemory()
    {
        var extensions = JsonNode.Parse(await Http.GetStringAsync("/v2", Ct))!["extensions"]!.AsArray().Select(e => e!.GetValue<string>());
        Assert.Contains("system_shared_memory", extensions);
        Assert.Contains("cuda_shared_memory", extensions);
    }

    internal static string Unique(string prefix) => prefix + "_" + Guid.NewGuid().ToString("N")[..8];

    internal static JsonObject ShmInput(string region, long offset, long byteSize = Bytes) => new()
    {
        ["name"] = "INPUT0",
        ["shape"] = new JsonArray(1, 16),
        ["datatype"] = "FP32",
        ["parameters"] = new JsonObject
        {
            ["shared_memory_region"] = region, ["shared_memory_offset"] = offset, ["shared_memory_byte_size"] = byteSize,
        },
    };

    private static JsonObject ShmOutput(string region, long offset, long byteSize, string name = "OUTPUT0") => new()
    {
        ["name"] = name,
        ["parameters"] = new JsonObject
        {
            ["shared_memory_region"] = region, ["shared_memory_offset"] = offset, ["shared_memory_byte_size"] = byteSize,
        },
    };

    private Task<HttpResponseMessage> RegisterAsync(string name, string key, long offset, long byteSize) =>
        Http.PostAsync($"/v2/systemsharedmemory/region/{name}/register",
            Kserve.Json(new JsonObject { ["key"] = key, ["offset"] = offset, ["byte_size"] = byteSize }), Ct);

    private async Task RegisterOkAsync(string name, string key, long offset, long byteSize)
    {
        using var response = await RegisterAsync(name, key, offset, byteSize);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
    }

    private async Task ExpectAsync(JsonArray inputs, JsonArray? outputs, HttpStatusCode status, string messageStart)
    {
        var body = new JsonObject { ["inputs"] = inputs };
        if (outputs is not null)
        {
            body["outputs"] = outputs;
        }
        using var response = await Http.PostAsync("/v2/models/identity/infer", Kserve.Json(body), Ct);
        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith(messageStart, await Kserve.ErrorAsync(response));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(5, Ct);
        }
    }
}
