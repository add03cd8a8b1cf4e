using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Scheduling;

/// <summary>
/// The sequence batcher over the real server on loopback, with the stateful accumulator model the model tools write
/// (implicit state INPUT_STATE/OUTPUT_STATE, START/END/READY/CORRID controls echoed back in CONTROLS and CORRID_OUT):
/// per-sequence state under both strategies, over HTTP JSON and gRPC, uint64 and string ids, Triton's errors,
/// idle release and the backlog.
/// </summary>
public sealed class SequenceBatcherEndToEndTests : IDisposable
{
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    [Theory]
    [InlineData("fp32", 8)]
    [InlineData("int32", 8)]
    [InlineData("bool", 8)]
    [InlineData("fp32", 0)]
    public async Task Direct_Http_InterleavedSequencesKeepTheirOwnState_AndSeeTheirControls(string controlType, int maxBatchSize)
    {
        // Without batching an instance holds one sequence: two instances for the two interleaved sequences.
        AccumulatorModelBuilder.Write(_repository.Path, controlType: controlType, maxBatchSize: maxBatchSize, instances: maxBatchSize > 0 ? 1 : 2,
            maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var shape = maxBatchSize > 0 ? new long[] { 1, 1 } : [1];

        var a1 = await InferOkAsync(server.Http, 1001UL, 1, shape, start: true);
        var b1 = await InferOkAsync(server.Http, 18_000_000_000_000_000_000UL, 10, shape, start: true);
        var a2 = await InferOkAsync(server.Http, 1001UL, 2, shape);
        var b2 = await InferOkAsync(server.Http, 18_000_000_000_000_000_000UL, 20, shape);
        var a3 = await InferOkAsync(server.Http, 1001UL, 3, shape, end: true);
        var b3 = await InferOkAsync(server.Http, 18_000_000_000_000_000_000UL, 30, shape, end: true);

        Assert.Equal([1f, 3f, 6f], new[] { a1, a2, a3 }.Select(r => Output(r, "OUTPUT")[0]));
        Assert.Equal([10f, 30f, 60f], new[] { b1, b2, b3 }.Select(r => Output(r, "OUTPUT")[0]));
        Assert.Equal([1f, 0f, 1f], Output(a1, "CONTROLS"));
        Assert.Equal([0f, 0f, 1f], Output(a2, "CONTROLS"));
        Assert.Equal([0f, 1f, 1f], Output(a3, "CONTROLS"));
        Assert.Equal(1001UL, a2["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "CORRID_OUT")!["data"]![0]!.GetValue<ulong>());
        Assert.Equal(18_000_000_000_000_000_000UL, b3["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "CORRID_OUT")!["data"]![0]!.GetValue<ulong>());
        Assert.DoesNotContain(a1["outputs"]!.AsArray(), o => o!["name"]!.GetValue<string>() == "OUTPUT_STATE");

        // A new sequence with the same id starts from the initial (zero) state.
        var again = await InferOkAsync(server.Http, 1001UL, 5, shape, start: true, end: true);
        Assert.Equal(5f, Output(again, "OUTPUT")[0]);
    }

    [Fact]
    public async Task Grpc_Uint64AndStringIds_AccumulateAndAnswerTritonsErrors()
    {
        AccumulatorModelBuilder.Write(_repository.Path, maxSequenceIdleMicroseconds: 60_000_000);
        AccumulatorModelBuilder.Write(_repository.Path, name: "accumulator_strings", correlationIdControl: false, maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var grpc = server.Grpc;

        Assert.Equal(4f, await GrpcSumAsync(grpc, "accumulator", P(Int: 7), start: true, value: 4));
        Assert.Equal(9f, await GrpcSumAsync(grpc, "accumulator", P(Uint: 7), start: false, value: 5));
        Assert.Equal(2f, await GrpcSumAsync(grpc, "accumulator_strings", P(Text: "chat-a"), start: true, value: 2));
        Assert.Equal(5f, await GrpcSumAsync(grpc, "accumulator_strings", P(Text: "chat-b"), start: true, value: 5));
        Assert.Equal(5f, await GrpcSumAsync(grpc, "accumulator_strings", P(Text: "chat-a"), start: false, value: 3, end: true));

        await E2E.AssertRpcErrorAsync(() => GrpcSumAsync(grpc, "accumulator", P(Text: "x"), start: true, value: 1), StatusCode.InvalidArgument,
            "sequence batching control 'CORRID' data-type is 'BYTES', but model 'accumulator' expects 'UINT64'");
        await E2E.AssertRpcErrorAsync(() => GrpcSumAsync(grpc, "accumulator_strings", P(Text: "chat-a"), start: false, value: 1), StatusCode.InvalidArgument,
            "inference request for sequence chat-a to model 'accumulator_strings' must specify the START flag on the first request of the sequence");
        await E2E.AssertRpcErrorAsync(() => GrpcSumAsync(grpc, "accumulator", null, start: false, value: 1), StatusCode.InvalidArgument,
            "inference request to model 'accumulator' must specify a non-zero or non-empty correlation ID");
        await E2E.AssertRpcErrorAsync(() => GrpcSumAsync(grpc, "accumulator", P(Int: 0), start: true, value: 1), StatusCode.InvalidArgument,
            "must specify a non-zero or non-empty correlation ID");
        await E2E.AssertRpcErrorAsync(() => GrpcSumAsync(grpc, "accumulator", P(Double: 1.5), start: true, value: 1), StatusCode.InvalidArgument,
            "invalid value type for 'sequence_id' parameter");
        // The sequence that failed nothing is still live and intact.
        Assert.Equal(10f, await GrpcSumAsync(grpc, "accumulator", P(Int: 7), start: false, value: 1, end: true));
    }

    [Fact]
    public async Task Http_BadSequenceRequests_Get400WithTritonsMessages_AndTheServerKeepsServing()
    {
        AccumulatorModelBuilder.Write(_repository.Path, maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var http = server.Http;

        await E2E.AssertErrorAsync(await PostAsync(http, Body(null, 1, [1, 1])), HttpStatusCode.BadRequest,
            "inference request to model 'accumulator' must specify a non-zero or non-empty correlation ID");
        await E2E.AssertErrorAsync(await PostAsync(http, Body(42UL, 1, [1, 1])), HttpStatusCode.BadRequest,
            "inference request for sequence 42 to model 'accumulator' must specify the START flag on the first request of the sequence");
        var two = Body(42UL, 1, [2, 1], start: true);
        two["inputs"]![0]!["data"] = new JsonArray(1f, 2f);
        await E2E.AssertErrorAsync(await PostAsync(http, two), HttpStatusCode.BadRequest,
            "inference request to model 'accumulator' must specify batch-size 1 due to requirements of sequence batcher");
        var badFlag = Body(42UL, 1, [1, 1]);
        badFlag["parameters"]!["sequence_start"] = "yes";
        await E2E.AssertErrorAsync(await PostAsync(http, badFlag), HttpStatusCode.BadRequest, "invalid value type for 'sequence_start' parameter");
        var stateInput = Body(42UL, 1, [1, 1], start: true);
        stateInput["inputs"]!.AsArray().Add(Kserve.JsonInput("INPUT_STATE", [1, 1], [5f]));
        await E2E.AssertErrorAsync(await PostAsync(http, stateInput), HttpStatusCode.BadRequest, "INPUT_STATE");

        Assert.Equal(3f, Output(await InferOkAsync(http, 42UL, 3, [1, 1], start: true, end: true), "OUTPUT")[0]);
    }

    [Fact]
    public async Task IdleSequence_IsReleased_AndItsNextRequestWithoutStartIsRefused()
    {
        AccumulatorModelBuilder.Write(_repository.Path, maxSequenceIdleMicroseconds: 100_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);

        Assert.Equal(1f, Output(await InferOkAsync(server.Http, 5UL, 1, [1, 1], start: true), "OUTPUT")[0]);
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        await E2E.AssertErrorAsync(await PostAsync(server.Http, Body(5UL, 2, [1, 1])), HttpStatusCode.BadRequest,
            "inference request for sequence 5 to model 'accumulator' must specify the START flag on the first request of the sequence");
    }

    [Fact]
    public async Task Oldest_BatchesDistinctSequences_AndABacklogSequenceRunsOnceASlotFrees()
    {
        // One instance with 4 candidate slots, batches of up to 4 that wait up to 3 s to fill.
        AccumulatorModelBuilder.Write(_repository.Path, strategy: "oldest", maxBatchSize: 4, maxCandidateSequences: 4,
            maxQueueDelayMicroseconds: 3_000_000, maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var http = server.Http;

        var firsts = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => InferOkAsync(http, (ulong)i, i, [1, 1], start: true)));
        Assert.Equal([1f, 2f, 3f, 4f], firsts.Select(r => Output(r, "OUTPUT")[0]));
        var stats = await StatsAsync(http);
        Assert.Equal(1, stats["execution_count"]!.GetValue<long>());
        Assert.Equal(4, stats["inference_count"]!.GetValue<long>());
        Assert.Contains(stats["batch_stats"]!.AsArray(), b => b!["batch_size"]!.GetValue<int>() == 4);

        // A fifth sequence finds every slot taken: it waits in the backlog until sequence 1 ends.
        var fifth = InferOkAsync(http, 5UL, 50, [1, 1], start: true);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        Assert.False(fifth.IsCompleted);
        var seconds = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => InferOkAsync(http, (ulong)i, 10, [1, 1], end: i == 1)));
        Assert.Equal([11f, 12f, 13f, 14f], seconds.Select(r => Output(r, "OUTPUT")[0]));
        Assert.Equal(50f, Output(await fifth.WaitAsync(TimeSpan.FromSeconds(30), Ct), "OUTPUT")[0]);
        Assert.Equal(57f, Output(await InferOkAsync(http, 5UL, 7, [1, 1], end: true), "OUTPUT")[0]);
    }

    [Fact]
    public async Task GrpcStream_RequestsOfOneSequenceWrittenBackToBack_RunInOrder()
    {
        AccumulatorModelBuilder.Write(_repository.Path, maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);

        using var call = server.Grpc.ModelStreamInfer(cancellationToken: Ct);
        for (var i = 1; i <= 5; i++)
        {
            var request = E2E.RawRequest("accumulator", "INPUT", [1, 1], [i], output: "OUTPUT", id: $"r{i}");
            request.Parameters["sequence_id"] = new InferParameter { Int64Param = 77 };
            request.Parameters["sequence_start"] = new InferParameter { BoolParam = i == 1 };
            request.Parameters["sequence_end"] = new InferParameter { BoolParam = i == 5 };
            await call.RequestStream.WriteAsync(request, Ct);
        }
        await call.RequestStream.CompleteAsync();
        var replies = new List<ModelStreamInferResponse>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync(Ct))
        {
            replies.Add(reply);
        }

        Assert.All(replies, r => Assert.Equal("", r.ErrorMessage));
        Assert.Equal([1f, 3f, 6f, 10f, 15f], replies.OrderBy(r => r.InferResponse.Id)
            .Select(r => MemoryMarshal.Cast<byte, float>(r.InferResponse.RawOutputContents[0].Span)[0]));
    }

    [Fact]
    public async Task Direct_MinimumSlotUtilization_WaitsForEnoughReadySlots_ThenRunsThemAsOneBatch()
    {
        var folder = AccumulatorModelBuilder.Write(_repository.Path, maxBatchSize: 4, maxQueueDelayMicroseconds: 3_000_000,
            maxSequenceIdleMicroseconds: 60_000_000);
        var path = Path.Combine(folder, "config.pbtxt");
        File.WriteAllText(path, File.ReadAllText(path).Replace("direct { max_queue_delay_microseconds: 3000000 }",
            "direct { max_queue_delay_microseconds: 3000000 minimum_slot_utilization: 1.0 }"));
        await using var server = await ServerHost.StartAsync(_repository.Path);

        var firsts = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => InferOkAsync(server.Http, (ulong)i, i, [1, 1], start: true)));
        Assert.Equal([1f, 2f, 3f, 4f], firsts.Select(r => Output(r, "OUTPUT")[0]));
        var stats = await StatsAsync(server.Http);
        Assert.Equal(1, stats["execution_count"]!.GetValue<long>());
        Assert.Contains(stats["batch_stats"]!.AsArray(), b => b!["batch_size"]!.GetValue<int>() == 4);
    }

    [Fact]
    public async Task QueuedRequestWhoseClientGoesAway_LeavesItsSequence_WhichGoesOnWithoutIt()
    {
        // A batch runs only with all 4 slots ready (or after 60 s): a lone request stays queued.
        var folder = AccumulatorModelBuilder.Write(_repository.Path, maxBatchSize: 4, maxQueueDelayMicroseconds: 60_000_000,
            maxSequenceIdleMicroseconds: 120_000_000);
        var path = Path.Combine(folder, "config.pbtxt");
        File.WriteAllText(path, File.ReadAllText(path).Replace("direct { max_queue_delay_microseconds: 60000000 }",
            "direct { max_queue_delay_microseconds: 60000000 minimum_slot_utilization: 1.0 }"));
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var inference = server.Services.GetRequiredService<IInferenceServer>();
        int Pending() => inference.GetStatistics("accumulator").Value!.Single().PendingRequests;
        var manager = server.Services.GetRequiredService<ModelManager>();

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = server.Http.PostAsync("/v2/models/accumulator/infer", Kserve.Json(Body(1UL, 100, [1, 1], start: true)), cts.Token);
        // Admitted (its sequence begun), not only counted as pending: a START cancelled before admission begins nothing.
        await E2E.WaitUntilAsync(() => Task.FromResult(manager.QueuedCount("accumulator") == 1), "the request is queued");
        Assert.Equal(1, Pending());
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await E2E.WaitUntilAsync(() => Task.FromResult(Pending() == 0), "the cancelled request leaves the queue");

        // Sequence 1 is live without its cancelled START request; with three new sequences the 4 slots are ready.
        var results = await Task.WhenAll(
            InferOkAsync(server.Http, 1UL, 5, [1, 1]),
            InferOkAsync(server.Http, 2UL, 2, [1, 1], start: true),
            InferOkAsync(server.Http, 3UL, 3, [1, 1], start: true),
            InferOkAsync(server.Http, 4UL, 4, [1, 1], start: true));
        Assert.Equal([5f, 2f, 3f, 4f], results.Select(r => Output(r, "OUTPUT")[0]));
        var stats = await StatsAsync(server.Http);
        Assert.Equal(1, stats["inference_stats"]!["fail"]!["count"]!.GetValue<long>());
        Assert.Equal(1, stats["execution_count"]!.GetValue<long>());
    }

    [Fact]
    public async Task BacklogSequence_WhoseTimeoutExpires_IsRejectedWith503_AndForgotten()
    {
        // One instance without batching: one slot, held by sequence 1.
        AccumulatorModelBuilder.Write(_repository.Path, maxBatchSize: 0, maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var http = server.Http;
        Assert.Equal(1f, Output(await InferOkAsync(http, 1UL, 1, [1], start: true), "OUTPUT")[0]);

        var waiting = Body(2UL, 7, [1], start: true);
        waiting["parameters"]!["timeout"] = 200_000;
        await E2E.AssertErrorAsync(await PostAsync(http, waiting), HttpStatusCode.ServiceUnavailable,
            "timeout of the corresponding sequence has been expired");
        await E2E.AssertErrorAsync(await PostAsync(http, Body(2UL, 1, [1])), HttpStatusCode.BadRequest,
            "inference request for sequence 2 to model 'accumulator' must specify the START flag");
        Assert.Equal(3f, Output(await InferOkAsync(http, 1UL, 2, [1], end: true), "OUTPUT")[0]);
        Assert.Equal(7f, Output(await InferOkAsync(http, 2UL, 7, [1], start: true, end: true), "OUTPUT")[0]);
    }

    [Fact]
    public async Task ManyConcurrentSequences_MoreThanTheSlots_AllFinishWithTheirOwnSums()
    {
        // 2 instances x 4 slots = 8 slots for 20 sequences: the rest wait in the backlog until sequences end.
        AccumulatorModelBuilder.Write(_repository.Path, maxBatchSize: 4, instances: 2, maxSequenceIdleMicroseconds: 60_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path);

        async Task<float> Sequence(ulong id)
        {
            var last = 0f;
            for (var step = 1; step <= 6; step++)
            {
                last = Output(await InferOkAsync(server.Http, id, id * (ulong)step, [1, 1], start: step == 1, end: step == 6), "OUTPUT")[0];
            }
            return last;
        }
        var sums = await Task.WhenAll(Enumerable.Range(1, 20).Select(i => Sequence((ulong)i)));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 21f), sums);
        Assert.Equal(120, (await StatsAsync(server.Http))["inference_count"]!.GetValue<long>());
    }

    [Fact]
    public async Task UnloadWithALiveSequence_Completes_AndTheServedConfigShowsTritonsDefaults()
    {
        AccumulatorModelBuilder.Write(_repository.Path, strategy: "oldest", maxBatchSize: 4);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=accumulator");
        var http = server.Http;

        var config = JsonNode.Parse(await http.GetStringAsync("/v2/models/accumulator/config", Ct))!["sequence_batching"]!;
        Assert.Equal("1000000", config["max_sequence_idle_microseconds"]!.ToString());
        Assert.Equal([4], config["oldest"]!["preferred_batch_size"]!.AsArray().Select(v => v!.GetValue<int>()));
        Assert.Equal(4, config["control_input"]!.AsArray().Count);

        Assert.Equal(2f, Output(await InferOkAsync(http, 9UL, 2, [1, 1], start: true), "OUTPUT")[0]);
        using (var unload = await http.PostAsync("/v2/repository/models/accumulator/unload", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }
        await E2E.WaitUntilAsync(async () => (await http.GetAsync("/v2/models/accumulator/ready", Ct)).StatusCode != HttpStatusCode.OK, "unloaded");
        using var after = await PostAsync(http, Body(9UL, 1, [1, 1]));
        Assert.NotEqual(HttpStatusCode.OK, after.StatusCode);
        Assert.True((int)after.StatusCode < 500);
    }

    [Fact]
    public async Task SequenceConfigErrors_FailTheLoadWithAClearReason()
    {
        var folder = AccumulatorModelBuilder.Write(_repository.Path, name: "two_starts");
        var config = File.ReadAllText(Path.Combine(folder, "config.pbtxt"));
        File.WriteAllText(Path.Combine(folder, "config.pbtxt"), config.Replace("kind: CONTROL_SEQUENCE_END", "kind: CONTROL_SEQUENCE_START"));
        folder = AccumulatorModelBuilder.Write(_repository.Path, name: "from_file");
        config = File.ReadAllText(Path.Combine(folder, "config.pbtxt"));
        File.WriteAllText(Path.Combine(folder, "config.pbtxt"), config.Replace("zero_data: true", "data_file: \"state.bin\""));
        await using var server = await ServerHost.StartAsync(_repository.Path, "--strict-readiness=false");

        var index = JsonNode.Parse(await (await server.Http.PostAsync("/v2/repository/index", null, Ct)).Content.ReadAsStringAsync(Ct))!.AsArray();
        string Reason(string name) => index.Single(m => m!["name"]!.GetValue<string>() == name)!["reason"]!.GetValue<string>();
        Assert.Contains("sequence batching specifies multiple CONTROL_SEQUENCE_START tensors for two_starts", Reason("two_starts"), StringComparison.Ordinal);
        Assert.Contains("initial state from a file is not supported", Reason("from_file"), StringComparison.Ordinal);
    }

    private static InferParameter P(long? Int = null, ulong? Uint = null, string? Text = null, double? Double = null) =>
        Int is { } i ? new InferParameter { Int64Param = i }
        : Uint is { } u ? new InferParameter { Uint64Param = u }
        : Double is { } d ? new InferParameter { DoubleParam = d }
        : new InferParameter { StringParam = Text! };

    private static async Task<float> GrpcSumAsync(GRPCInferenceService.GRPCInferenceServiceClient grpc, string model, InferParameter? id,
        bool start, float value, bool end = false)
    {
        var request = E2E.RawRequest(model, "INPUT", [1, 1], [value], output: "OUTPUT");
        if (id is not null)
        {
            request.Parameters["sequence_id"] = id;
        }
        request.Parameters["sequence_start"] = new InferParameter { BoolParam = start };
        request.Parameters["sequence_end"] = new InferParameter { BoolParam = end };
        var response = await grpc.ModelInferAsync(request, cancellationToken: Ct);
        Assert.Single(response.Outputs);
        return MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span)[0];
    }

    private static JsonObject Body(ulong? id, float value, long[] shape, bool start = false, bool end = false)
    {
        var parameters = new JsonObject();
        if (id is { } i)
        {
            parameters["sequence_id"] = i;
        }
        if (start)
        {
            parameters["sequence_start"] = true;
        }
        if (end)
        {
            parameters["sequence_end"] = true;
        }
        return new JsonObject { ["parameters"] = parameters, ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT", shape, [value])) };
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, JsonObject body, string model = "accumulator") =>
        http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);

    private static async Task<JsonNode> InferOkAsync(HttpClient http, ulong id, float value, long[] shape, bool start = false, bool end = false)
    {
        using var response = await PostAsync(http, Body(id, value, shape, start, end));
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private static float[] Output(JsonNode response, string name) =>
        [.. response["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == name)!["data"]!.AsArray().Select(v => v!.GetValue<float>())];

    private static async Task<JsonNode> StatsAsync(HttpClient http) =>
        JsonNode.Parse(await http.GetStringAsync("/v2/models/accumulator/stats", Ct))!["model_stats"]![0]!;
}
