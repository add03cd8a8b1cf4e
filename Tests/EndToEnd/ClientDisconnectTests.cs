using System.Net;
using System.Text.Json.Nodes;
using Inference.Server.Core;
using Inference.Server.ModelTools;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.EndToEnd;

/// <summary>A request whose HTTP client goes away while it waits in the batcher's queue is taken out of the
/// queue and counted as a failure, and the server goes on serving.</summary>
public sealed class ClientDisconnectTests : IDisposable
{
    private const string Model = "slow_queue";
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task CancelledWhileQueued_IsRemovedAndCountedAsAFailure_AndTheServerKeepsServing()
    {
        // A batch forms only when full (64 rows) or after 60 s: a single-row request stays queued.
        IdentityModelBuilder.Write(_repository.Path, Model, width: 16, maxBatchSize: 64, maxQueueDelayMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var inference = server.Services.GetRequiredService<IInferenceServer>();

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = server.Http.PostAsync($"/v2/models/{Model}/infer", Body(1), cts.Token);
        await E2E.WaitUntilAsync(() => Task.FromResult(Pending(inference) == 1), "the request is queued");
        Assert.False(call.IsCompleted);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        await E2E.WaitUntilAsync(async () => (await StatsAsync(server.Http))["fail"]!["count"]!.GetValue<long>() == 1, "the failure is counted");
        Assert.Equal(0, Pending(inference));
        var stats = await StatsAsync(server.Http);
        Assert.Equal(0, stats["success"]!["count"]!.GetValue<long>());

        // A full batch runs at once: the queue is empty again and the model serves.
        using var good = await server.Http.PostAsync($"/v2/models/{Model}/infer", Body(64), Ct);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var model = JsonNode.Parse(await server.Http.GetStringAsync($"/v2/models/{Model}/stats", Ct))!["model_stats"]![0]!;
        Assert.Equal(64, model["inference_count"]!.GetValue<long>());
        Assert.Equal(1, model["execution_count"]!.GetValue<long>());
        Assert.Equal(1, model["inference_stats"]!["success"]!["count"]!.GetValue<long>());
        Assert.Equal(1, model["inference_stats"]!["fail"]!["count"]!.GetValue<long>());
    }

    private static int Pending(IInferenceServer server) => server.GetStatistics(Model).Value!.Single().PendingRequests;

    private static async Task<JsonNode> StatsAsync(HttpClient http) =>
        JsonNode.Parse(await http.GetStringAsync($"/v2/models/{Model}/stats", Ct))!["model_stats"]![0]!["inference_stats"]!;

    private static StringContent Body(int rows) =>
        Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [rows, 16], Kserve.RandomFloats(rows * 16, seed: rows))) });
}
