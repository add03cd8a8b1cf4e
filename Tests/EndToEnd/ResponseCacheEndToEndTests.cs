using System.Net;
using System.Text.Json.Nodes;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;
using Inference.Tests.Telemetry;
using Microsoft.Extensions.Options;

namespace Inference.Tests.EndToEnd;

/// <summary>The response cache over the real server: <c>--cache-config local,size=N</c> with <c>response_cache { enable: true }</c>,
/// hits and misses in the statistics (HTTP and gRPC) and in the <c>nv_cache_*</c> metrics, LRU eviction, and a model that
/// enables it on a server without a cache.</summary>
public sealed class ResponseCacheEndToEndTests : IDisposable
{
    private const string Enable = "response_cache { enable: true }";
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    private static JsonObject Body(float[] data, int classes = 0)
    {
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], data)) };
        if (classes > 0)
        {
            body["outputs"] = new JsonArray(new JsonObject { ["name"] = "OUTPUT0", ["parameters"] = new JsonObject { ["classification"] = classes } });
        }
        return body;
    }

    private static async Task<JsonNode> InferAsync(HttpClient http, string model, JsonObject body)
    {
        using var response = await http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!["outputs"]![0]!;
    }

    private static async Task<JsonNode> StatsAsync(HttpClient http, string model) =>
        JsonNode.Parse(await http.GetStringAsync($"/v2/models/{model}/stats", Ct))!["model_stats"]![0]!;

    private static ulong Count(JsonNode stats, string field) => stats["inference_stats"]![field]!["count"]!.GetValue<ulong>();

    [Fact]
    public async Task IdenticalRequests_HitTheCache_ThroughHttpAndGrpc_WithStatisticsAndMetrics()
    {
        E2E.WriteIdentity(_repository.Path, "cached", Enable);
        E2E.WriteIdentity(_repository.Path, "uncached");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--cache-config", "local,size=1048576");

        var a = Kserve.RandomFloats(16, seed: 1);
        var first = await InferAsync(server.Http, "cached", Body(a));
        var second = await InferAsync(server.Http, "cached", Body(a));
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        Assert.Equal(a, second["data"]!.AsArray().Select(v => v!.GetValue<float>()));
        // The same request over gRPC has the same key (the key is the request, not the protocol).
        var grpc = await server.Grpc.ModelInferAsync(E2E.RawRequest("cached", "INPUT0", [1, 16], a), cancellationToken: Ct);
        Assert.Equal(a, E2E.Floats(grpc.RawOutputContents[0]));
        // Other data, or the same data asking for a classification, are other keys.
        await InferAsync(server.Http, "cached", Body(Kserve.RandomFloats(16, seed: 2)));
        var top2 = await InferAsync(server.Http, "cached", Body(a, classes: 2));
        Assert.Equal("BYTES", top2["datatype"]!.GetValue<string>());
        Assert.Equal(top2.ToJsonString(), (await InferAsync(server.Http, "cached", Body(a, classes: 2))).ToJsonString());
        await InferAsync(server.Http, "uncached", Body(a));
        await InferAsync(server.Http, "uncached", Body(a));

        var stats = await StatsAsync(server.Http, "cached");
        Assert.Equal(3ul, Count(stats, "cache_hit"));
        Assert.Equal(3ul, Count(stats, "cache_miss"));
        Assert.Equal(6ul, Count(stats, "success"));
        Assert.Equal(3ul, stats["inference_count"]!.GetValue<ulong>());
        Assert.Equal(3ul, stats["execution_count"]!.GetValue<ulong>());
        Assert.Equal(3ul, Count(stats, "compute_infer"));
        Assert.True(stats["inference_stats"]!["cache_hit"]!["ns"]!.GetValue<ulong>() > 0);
        var uncached = await StatsAsync(server.Http, "uncached");
        Assert.Equal((0ul, 0ul, 2ul), (Count(uncached, "cache_hit"), Count(uncached, "cache_miss"), uncached["inference_count"]!.GetValue<ulong>()));

        var grpcStats = (await server.Grpc.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "cached" }, cancellationToken: Ct)).ModelStats[0];
        Assert.Equal(3ul, grpcStats.InferenceStats.CacheHit.Count);
        Assert.Equal(3ul, grpcStats.InferenceStats.CacheMiss.Count);

        var metrics = PrometheusText.Parse(await server.Http.GetStringAsync("/metrics", Ct));
        Assert.Equal(3, metrics.Named("nv_cache_num_hits_per_model").Single(s => s.Has(("model", "cached"), ("version", "1"))).Value);
        Assert.Equal(3, metrics.Named("nv_cache_num_misses_per_model").Single(s => s.Has(("model", "cached"))).Value);
        Assert.True(metrics.Named("nv_cache_hit_duration_per_model").Single(s => s.Has(("model", "cached"))).Value >= 0);
        Assert.True(metrics.Named("nv_cache_miss_duration_per_model").Single(s => s.Has(("model", "cached"))).Value >= 0);
        Assert.DoesNotContain(metrics.Named("nv_cache_num_hits_per_model"), s => s.Has(("model", "uncached")));
        Assert.Equal(3, metrics.Named("nv_cache_num_entries").Single().Value);
        Assert.Equal(6, metrics.Named("nv_cache_num_lookups").Single().Value);
        Assert.Equal(3, metrics.Named("nv_cache_num_hits").Single().Value);
        Assert.Equal(3, metrics.Named("nv_cache_num_misses").Single().Value);
        Assert.Equal(0, metrics.Named("nv_cache_num_evictions").Single().Value);
        Assert.InRange(metrics.Named("nv_cache_util").Single().Value, 1e-6, 0.01);
        Assert.Equal("gauge", metrics.Types["nv_cache_num_entries"]);
        Assert.Equal("counter", metrics.Types["nv_cache_num_hits_per_model"]);
    }

    [Fact]
    public async Task ASmallCache_EvictsTheLeastRecentlyUsed()
    {
        E2E.WriteIdentity(_repository.Path, "cached", Enable);
        // Room for two FP32 [1,16] responses (about 290 bytes each).
        await using var server = await ServerHost.StartAsync(_repository.Path, "--cache-config=local,size=600");
        float[][] data = [Kserve.RandomFloats(16, 1), Kserve.RandomFloats(16, 2), Kserve.RandomFloats(16, 3)];
        foreach (var d in data)
        {
            await InferAsync(server.Http, "cached", Body(d)); // three misses: the first is evicted
        }
        await InferAsync(server.Http, "cached", Body(data[2])); // hit
        await InferAsync(server.Http, "cached", Body(data[0])); // miss, evicts data[1]
        await InferAsync(server.Http, "cached", Body(data[1])); // miss

        var stats = await StatsAsync(server.Http, "cached");
        Assert.Equal((1ul, 5ul), (Count(stats, "cache_hit"), Count(stats, "cache_miss")));
        var metrics = PrometheusText.Parse(await server.Http.GetStringAsync("/metrics", Ct));
        Assert.Equal(3, metrics.Named("nv_cache_num_evictions").Single().Value);
        Assert.Equal(2, metrics.Named("nv_cache_num_entries").Single().Value);
    }

    [Fact]
    public async Task WithoutAServerCache_AModelThatEnablesIt_ServesUncached_AsTriton()
    {
        E2E.WriteIdentity(_repository.Path, "cached", Enable);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var a = Kserve.RandomFloats(16, seed: 1);
        await InferAsync(server.Http, "cached", Body(a));
        await InferAsync(server.Http, "cached", Body(a));
        var stats = await StatsAsync(server.Http, "cached");
        Assert.Equal((0ul, 0ul, 2ul), (Count(stats, "cache_hit"), Count(stats, "cache_miss"), stats["inference_count"]!.GetValue<ulong>()));
        var metrics = await server.Http.GetStringAsync("/metrics", Ct);
        Assert.DoesNotContain("nv_cache_", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadCacheConfig_StopsTheStart_NamingTheFlag()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => ServerHost.StartAsync(_repository.Path, "--cache-config=redis,host=localhost"));
        Assert.Contains("--cache-config: cache implementation 'redis' is not available", e.Message, StringComparison.Ordinal);
    }
}
