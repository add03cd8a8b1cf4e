using System.Net;
using System.Text.Json.Nodes;
using Inference.Server.ModelTools;
using Inference.Server.Scheduling.RateLimiting;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Scheduling;

/// <summary>
/// The rate limiter across models on the real server: two models whose instances need the one copy of resource "R"
/// never execute at the same time (measured around the instances' executions) yet both serve every request; an explicit
/// count below an instance's need fails that model's load.
/// </summary>
public sealed class RateLimiterEndToEndTests : IDisposable
{
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    private void WriteLimitedModel(string name, int instances, string rateLimiter)
    {
        var folder = DefaultModelRepository.WriteSmallModel(_repository.Path, name, maxBatchSize: 4, cpuInstances: instances);
        var path = Path.Combine(folder, "config.pbtxt");
        var text = File.ReadAllText(path);
        Assert.Contains("    kind: KIND_CPU\n  }", text, StringComparison.Ordinal);
        File.WriteAllText(path, text.Replace("    kind: KIND_CPU\n  }", $"    kind: KIND_CPU\n    rate_limiter {{ {rateLimiter} }}\n  }}"));
    }

    [Fact]
    public async Task TwoModelsSharingOneResource_NeverExecuteAtTheSameTime_AndServeEveryRequest()
    {
        WriteLimitedModel("first", 2, "resources [ { name: \"R\" count: 1 } ] priority: 1");
        WriteLimitedModel("second", 2, "resources [ { name: \"R\" count: 1 } ] priority: 2");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--rate-limit=execution_count", "--rate-limit-resource=R:1");
        var limiter = server.Services.GetRequiredService<RateLimiter>();

        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("input", [1, 3, 64, 64], Kserve.RandomFloats(3 * 64 * 64, 1))) }.ToJsonString();
        async Task Client(string model)
        {
            for (var i = 0; i < 25; i++)
            {
                using var response = await server.Http.PostAsync($"/v2/models/{model}/infer",
                    new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Client(i % 2 == 0 ? "first" : "second")));

        Assert.Equal(1, limiter.MaxConcurrentExecutions("R"));
        foreach (var model in new[] { "first", "second" })
        {
            var stats = JsonNode.Parse(await server.Http.GetStringAsync($"/v2/models/{model}/stats", Ct))!["model_stats"]![0]!;
            Assert.Equal(100, stats["inference_count"]!.GetValue<long>());
        }
    }

    [Fact]
    public async Task WithoutTheFlag_RateLimiterBlocksAreIgnored_AsInTriton()
    {
        WriteLimitedModel("first", 1, "resources [ { name: \"R\" count: 5 } ]");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--rate-limit-resource=R:1");
        Assert.Null(server.Services.GetService<RateLimiter>());
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/models/first/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task AnInstanceNeedingMoreThanTheExplicitCount_FailsItsLoad_WithTritonsMessage()
    {
        WriteLimitedModel("greedy", 1, "resources [ { name: \"R\" count: 3 } ]");
        WriteLimitedModel("modest", 1, "resources [ { name: \"R\" count: 1 } ]");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--rate-limit=execution_count", "--rate-limit-resource=R:2",
            "--strict-readiness=false");

        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/models/modest/ready", Ct)).StatusCode);
        var index = JsonNode.Parse(await (await server.Http.PostAsync("/v2/repository/index", null, Ct)).Content.ReadAsStringAsync(Ct))!.AsArray();
        var reason = index.Single(m => m!["name"]!.GetValue<string>() == "greedy")!["reason"]!.GetValue<string>();
        Assert.Contains("Resource count for \"R\" is limited to 2 which will prevent scheduling of one or more model instances, the minimum required count is 3",
            reason, StringComparison.Ordinal);
    }
}
