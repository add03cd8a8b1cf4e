using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Inference.Server.Protos;

namespace LoadTest.Reliability;

/// <summary>
/// Category 4, faults:
/// <list type="bullet">
/// <item>corrupt model files (explicit mode, repository given): a version 2 whose model.onnx is garbage, a truncated
/// copy of version 1, or empty; then broken reloads (a config that does not parse, one that contradicts the model, one
/// naming a missing file): each load must fail with a 4xx JSON error (gRPC: a clean status) while version 1 goes on
/// serving, and a fixed model must load again;</item>
/// <item>poll mode (repository given): a model that appears is loaded, a corrupt new version leaves the old one
/// serving, and a deleted model folder is unloaded while the server stays ready; skipped in other modes;</item>
/// <item>a client disconnect storm: requests cancelled at random moments mid-flight over HTTP and gRPC, and uploads
/// abandoned half-way (connection reset), on a model that holds requests in its queue; afterwards the pending-request
/// gauges are back to 0, the statistics stop moving, the descriptors are released and good requests are served.</item>
/// </list>
/// The SIGTERM drain is the <c>drain</c> category (it ends the server).
/// </summary>
public sealed class FaultsCategory : IReliabilityCategory
{
    private const string FaultModel = "rel_fault";
    private const string SlowModel = "rel_slow";
    private const string PollModel = "rel_poll";

    public string Name => "faults";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var models = new SuiteModels(context);
        if (context.Options.Repository is null)
        {
            report.Skip("faults/corrupt-files", "no --repository");
            report.Skip("faults/poll-delete", "no --repository");
        }
        else if (context.Mode == ServerControlMode.Explicit)
        {
            await CorruptFilesAsync(context, models, report, cancellationToken).ConfigureAwait(false);
            report.Skip("faults/poll-delete", "server not in poll mode");
        }
        else if (context.Mode == ServerControlMode.Poll)
        {
            report.Skip("faults/corrupt-files", "needs explicit mode (loads through the API); poll-mode reloads are checked instead");
            await PollAsync(context, models, report, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            report.Skip("faults/corrupt-files", $"needs explicit mode (server: {context.Mode.ToString().ToLowerInvariant()})");
            report.Skip("faults/poll-delete", "server not in poll mode");
        }
        await DisconnectStormAsync(context, models, report, cancellationToken).ConfigureAwait(false);
    }

    private static async Task CorruptFilesAsync(SuiteContext context, SuiteModels models, CategoryReport report, CancellationToken cancellationToken)
    {
        var folder = models.WriteIdentity(FaultModel);
        try
        {
            var setup = await models.LoadAsync(FaultModel, cancellationToken).ConfigureAwait(false);
            if (!report.Check(setup.Status == 200, "faults/setup-load", () => $"loading a fresh identity model '{FaultModel}': {setup.Describe()}"))
            {
                return;
            }
            var v1Bytes = await File.ReadAllBytesAsync(Path.Combine(folder, "1", "model.onnx"), cancellationToken).ConfigureAwait(false);
            var config = await File.ReadAllTextAsync(Path.Combine(folder, "config.pbtxt"), cancellationToken).ConfigureAwait(false);
            var garbage = new byte[4096];
            new Random(context.Options.Seed).NextBytes(garbage);
            var v2 = Path.Combine(folder, "2");

            async Task FaultAsync(string name, Action breakIt, Action repair, string? overrideConfig = null)
            {
                breakIt();
                var body = overrideConfig is null ? null : JsonSerializer.Serialize(new { parameters = new { config = overrideConfig } });
                var http = await models.LoadAsync(FaultModel, cancellationToken, body).ConfigureAwait(false);
                report.Check(http.IsCleanRejection, $"faults/{name}/load-rejected", () => "HTTP load: " + http.Describe());
                var grpcLoad = new RepositoryModelLoadRequest { ModelName = FaultModel };
                if (overrideConfig is not null)
                {
                    grpcLoad.Parameters["config"] = new ModelRepositoryParameter { StringParam = overrideConfig };
                }
                var grpc = await context.GrpcAsync(o => context.Grpc.RepositoryModelLoadAsync(grpcLoad, o), cancellationToken).ConfigureAwait(false);
                report.Check(grpc.IsCleanRejection, $"faults/{name}/grpc-load-rejected", () => "gRPC load: " + grpc.Describe());
                var (infer, version) = await models.InferAsync(FaultModel, cancellationToken).ConfigureAwait(false);
                report.Check(infer.Status == 200 && version == "1", $"faults/{name}/old-version-serves", () => $"infer after the failed load: {infer.Describe()} (version {version})");
                var rows = await models.IndexAsync(FaultModel, cancellationToken).ConfigureAwait(false);
                report.Check(rows.Any(r => r.Version == "1" && r.State == "READY"), $"faults/{name}/index-shows-version-1-ready",
                    () => "index rows: " + string.Join("; ", rows.Select(r => $"{r.Version} {r.State} {r.Reason}")));
                repair();
            }

            void RemoveV2()
            {
                if (Directory.Exists(v2))
                {
                    Directory.Delete(v2, recursive: true);
                }
            }
            void WriteV2(byte[] bytes)
            {
                Directory.CreateDirectory(v2);
                File.WriteAllBytes(Path.Combine(v2, "model.onnx"), bytes);
            }
            void RestoreConfig() => File.WriteAllText(Path.Combine(folder, "config.pbtxt"), config);

            await FaultAsync("corrupt-file", () => WriteV2(garbage), RemoveV2).ConfigureAwait(false);
            await FaultAsync("truncated-file", () => WriteV2(v1Bytes[..(v1Bytes.Length / 2)]), RemoveV2).ConfigureAwait(false);
            await FaultAsync("empty-file", () => WriteV2([]), RemoveV2).ConfigureAwait(false);
            await FaultAsync("broken-config", () => File.WriteAllText(Path.Combine(folder, "config.pbtxt"), config + "\nmax_batch_size: [ \n"), RestoreConfig).ConfigureAwait(false);
            await FaultAsync("config-contradicts-model", () => File.WriteAllText(Path.Combine(folder, "config.pbtxt"),
                config.Replace("dims: [ 16 ]", "dims: [ 17 ]", StringComparison.Ordinal)), RestoreConfig).ConfigureAwait(false);
            await FaultAsync("config-names-missing-file", () => File.WriteAllText(Path.Combine(folder, "config.pbtxt"),
                config + "default_model_filename: \"missing.onnx\"\n"), RestoreConfig).ConfigureAwait(false);
            await FaultAsync("override-contradicts-model", () => { }, () => { },
                """{"backend":"onnxruntime","max_batch_size":8,"input":[{"name":"INPUT0","data_type":"TYPE_FP32","dims":[17]}],"output":[{"name":"OUTPUT0","data_type":"TYPE_FP32","dims":[17]}]}""").ConfigureAwait(false);

            var fixedLoad = await models.LoadAsync(FaultModel, cancellationToken).ConfigureAwait(false);
            var (after, _) = await models.InferAsync(FaultModel, cancellationToken).ConfigureAwait(false);
            report.Check(fixedLoad.Status == 200 && after.Status == 200, "faults/reload-after-repair", () => $"load {fixedLoad.Describe()}; infer {after.Describe()}");
        }
        finally
        {
            await models.RemoveAsync(FaultModel, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task PollAsync(SuiteContext context, SuiteModels models, CategoryReport report, CancellationToken cancellationToken)
    {
        var wait = context.Options.PollWait;
        var folder = models.WriteIdentity(PollModel);
        try
        {
            var loaded = await SuiteModels.WaitUntilAsync(async () => (await models.InferAsync(PollModel, cancellationToken).ConfigureAwait(false)).Outcome.Status == 200,
                wait, cancellationToken).ConfigureAwait(false);
            if (!report.Check(loaded, "faults/poll-delete/new-model-loaded", () => $"'{PollModel}' was not served within {wait.TotalSeconds:F0} s of appearing"))
            {
                return;
            }
            var v2 = Path.Combine(folder, "2");
            Directory.CreateDirectory(v2);
            await File.WriteAllBytesAsync(Path.Combine(v2, "model.onnx"), new byte[4096], cancellationToken).ConfigureAwait(false);
            var noticed = await SuiteModels.WaitUntilAsync(async () => (await models.IndexAsync(PollModel, cancellationToken).ConfigureAwait(false)).Any(r => r.Reason.Length > 0),
                wait, cancellationToken).ConfigureAwait(false);
            var (infer, version) = await models.InferAsync(PollModel, cancellationToken).ConfigureAwait(false);
            report.Check(noticed && infer.Status == 200 && version == "1", "faults/poll-corrupt/old-version-serves",
                () => $"noticed the corrupt version 2: {noticed}; infer {infer.Describe()} (version {version})");

            Directory.Delete(folder, recursive: true);
            var gone = await SuiteModels.WaitUntilAsync(async () => (await models.InferAsync(PollModel, cancellationToken).ConfigureAwait(false)).Outcome.Status is >= 400 and < 500,
                wait, cancellationToken).ConfigureAwait(false);
            var (afterDelete, _) = await models.InferAsync(PollModel, cancellationToken).ConfigureAwait(false);
            report.Check(gone && afterDelete.IsCleanRejection, "faults/poll-delete/unloaded",
                () => $"within {wait.TotalSeconds:F0} s of deleting its folder, infer got {afterDelete.Describe()}");
            var ready = await context.IsReadyAsync(cancellationToken).ConfigureAwait(false);
            report.Check(ready, "faults/poll-delete/server-ready", () => "GET /v2/health/ready is not 200 after the deletion");
            var serving = await context.ServesAsync(cancellationToken).ConfigureAwait(false);
            report.Check(serving is null, "faults/poll-delete/others-serve", () => serving!);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task DisconnectStormAsync(SuiteContext context, SuiteModels models, CategoryReport report, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var ownSlowModel = options.Repository is not null && context.Mode == ServerControlMode.Explicit;
        var model = context.Model;
        if (ownSlowModel)
        {
            // Requests wait up to 200 ms in this model's queue for a batch of 64: most are cancelled while queued.
            models.WriteIdentity(SlowModel, maxBatchSize: 64, maxQueueDelayMicroseconds: 200_000);
            var load = await models.LoadAsync(SlowModel, cancellationToken).ConfigureAwait(false);
            ownSlowModel = report.Check(load.Status == 200, "faults/disconnect-storm/setup-load", () => $"loading '{SlowModel}': {load.Describe()}");
            model = ownSlowModel ? SlowModel : model;
        }
        else
        {
            report.Skip("faults/disconnect-storm/queued-model", "no --repository or not explicit mode: the storm runs on --model, where fewer requests wait in a queue");
        }
        try
        {
            var count = options.Long ? 4000 : 600;
            var fdsBefore = context.Process?.Sample()?.OpenFds;
            var statsBefore = await StatisticsAsync(context, model, cancellationToken).ConfigureAwait(false);
            var random = new Random(options.Seed);
            var jsonBody = System.Text.Encoding.UTF8.GetBytes(
                $$"""{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Repeat("0", 16))}}]}]}""");
            var grpcRequest = new ModelInferRequest { ModelName = model };
            grpcRequest.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32", Shape = { 1, 16 } });
            grpcRequest.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[64]));
            if (!ownSlowModel)
            {
                // The good model's own request, whatever its inputs.
                jsonBody = context.Seeds.JsonBody;
                grpcRequest = context.Seeds.Grpc;
            }
            var path = $"/v2/models/{model}/infer";
            // A client of its own, disposed after the storm: its idle keep-alive connections would otherwise hold
            // server descriptors open and look like a leak.
            var stormHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = Timeout.InfiniteTimeSpan };
            long cancelled = 0, completed = 0, abandoned = 0;
            var tasks = new List<Task>();
            for (var i = 0; i < count; i++)
            {
                var delay = TimeSpan.FromMilliseconds(1 + random.Next(150));
                var kind = i % 10;
                if (kind == 9)
                {
                    // An upload abandoned half-way: the connection is reset with the body incomplete.
                    var head = $"POST {path} HTTP/1.1\r\nHost: {options.HttpUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {jsonBody.Length}";
                    tasks.Add(Task.Run(async () =>
                    {
                        await RawHttp.AbandonAsync(options.HttpUrl, head, jsonBody[..(jsonBody.Length / 2)], cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref abandoned);
                    }, cancellationToken));
                }
                else if (kind % 2 == 0)
                {
                    tasks.Add(Task.Run(async () =>
                    {
                        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        cts.CancelAfter(delay);
                        try
                        {
                            using var content = new ByteArrayContent(jsonBody);
                            using var r = await stormHttp.PostAsync(new Uri(options.HttpUrl, path), content, cts.Token).ConfigureAwait(false);
                            Interlocked.Increment(ref completed);
                        }
                        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
                        {
                            Interlocked.Increment(ref cancelled);
                        }
                    }, cancellationToken));
                }
                else
                {
                    tasks.Add(Task.Run(async () =>
                    {
                        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        cts.CancelAfter(delay);
                        try
                        {
                            await context.Grpc.ModelInferAsync(grpcRequest, cancellationToken: cts.Token).ConfigureAwait(false);
                            Interlocked.Increment(ref completed);
                        }
                        catch (RpcException)
                        {
                            Interlocked.Increment(ref cancelled);
                        }
                    }, cancellationToken));
                }
                if (tasks.Count >= 100)
                {
                    await Task.WhenAll(tasks).ConfigureAwait(false);
                    tasks.Clear();
                }
            }
            await Task.WhenAll(tasks).ConfigureAwait(false);
            stormHttp.Dispose();

            var pending = await ServerMetrics.WaitForNoPendingAsync(context.Http, options.HttpUrl, model, TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
            report.Check(pending == 0, "faults/disconnect-storm/pending-zero", () => $"nv_inference_pending_request_count of '{model}' is {pending?.ToString(CultureInfo.InvariantCulture) ?? "unreadable"} 15 s after the storm");
            var allPending = await ServerMetrics.SumAsync(context.Http, options.HttpUrl, ServerMetrics.PendingRequestCount, null, cancellationToken).ConfigureAwait(false);
            report.Check(allPending is 0 or null, "faults/disconnect-storm/all-models-pending-zero", () => $"pending requests over all models: {allPending}");
            var settled = await SuiteModels.WaitUntilAsync(async () =>
            {
                var a = await StatisticsAsync(context, model, cancellationToken).ConfigureAwait(false);
                await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
                var b = await StatisticsAsync(context, model, cancellationToken).ConfigureAwait(false);
                return a is not null && a == b;
            }, TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
            var statsAfter = await StatisticsAsync(context, model, cancellationToken).ConfigureAwait(false);
            report.Check(settled, "faults/disconnect-storm/statistics-settled", () => $"success/fail counts of '{model}' still moving 15 s after the storm: {statsAfter}");
            var serving = await context.ServesAsync(cancellationToken).ConfigureAwait(false);
            report.Check(serving is null, "faults/disconnect-storm/serves", () => serving!);
            if (fdsBefore is { } before)
            {
                int? fdsAfter = null;
                var released = await SuiteModels.WaitUntilAsync(() =>
                {
                    fdsAfter = context.Process!.Sample()?.OpenFds;
                    return Task.FromResult(fdsAfter is { } f && f <= before + 32);
                }, TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
                report.Check(released, "faults/disconnect-storm/descriptors-released", () => $"open descriptors {before} before, {fdsAfter} 20 s after (bound +32)");
                report.Figure("fds before/after", $"{before}/{fdsAfter}");
            }
            else
            {
                report.Skip("faults/disconnect-storm/descriptors-released", "no --server-pid");
            }
            report.Figure("storm", $"{count} requests on '{model}': {cancelled} cancelled, {completed} completed, {abandoned} uploads abandoned");
            report.Figure("statistics before/after", $"{statsBefore} -> {statsAfter}");
        }
        finally
        {
            if (ownSlowModel)
            {
                await models.RemoveAsync(SlowModel, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>"success/fail" request counts of a model's statistics, or null.</summary>
    private static async Task<string?> StatisticsAsync(SuiteContext context, string model, CancellationToken cancellationToken)
    {
        var r = await context.SendAsync(HttpMethod.Get, $"/v2/models/{model}/stats", null, cancellationToken).ConfigureAwait(false);
        if (r.Status != 200)
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(r.Body);
            long success = 0, fail = 0;
            foreach (var m in doc.RootElement.GetProperty("model_stats").EnumerateArray())
            {
                var s = m.GetProperty("inference_stats");
                success += Count(s.GetProperty("success"));
                fail += Count(s.GetProperty("fail"));
            }
            return $"{success}/{fail}";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }

        static long Count(JsonElement e)
        {
            var c = e.GetProperty("count");
            return c.ValueKind == JsonValueKind.String ? long.Parse(c.GetString()!, CultureInfo.InvariantCulture) : c.GetInt64();
        }
    }
}
