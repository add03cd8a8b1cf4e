using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Health.V1;
using Inference.Server.Hosting;
using Inference.Server.ModelTools;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Inference.Tests.ModelTools;
using Inference.Tests.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Graceful shutdown (<c>--exit-timeout-secs</c>) of the real server process, stopped with SIGTERM as Kubernetes stops a
/// pod: readiness turns false at once while the listeners stay open and liveness stays true, new inference requests get
/// HTTP 503 / gRPC UNAVAILABLE, the requests already queued are answered, and the process exits 0 once nothing is in
/// flight, or soon after the exit timeout when something still is. Each client loop's answers are checked for their
/// order (served; then refused by the drain, before any connection is refused; connection refused last), not for their
/// timing.
/// </summary>
/// <remarks>A request sent just as the listeners close may end with no answer at all, its connection ended or reset (one
/// kept alive and shut by the server before it read the request, or one still in the listen backlog when the listener
/// closed): such a drop is allowed only once the loop has been refused by the drain, when any new request is refused
/// anyway, so it cannot hide a lost accepted request.</remarks>
public sealed class DrainTests : IDisposable
{
    /// <summary>A batch forms at 64 rows or 6 s after its first request: single-row requests stay queued that long.</summary>
    private const string Slow = "slow";

    /// <summary>No batching delay: answers at once.</summary>
    private const string Fast = "fast";

    private const int Width = 16;
    private const string ShuttingDown = "shutting down";

    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task Sigterm_UnderLoad_AnswersEveryQueuedRequest_RefusesNewOnesWhileListening_AndExitsZero()
    {
        IdentityModelBuilder.Write(_repository.Path, Slow, width: Width, maxBatchSize: 64, maxQueueDelayMicroseconds: 6_000_000);
        IdentityModelBuilder.Write(_repository.Path, Fast, width: Width, maxBatchSize: 8, maxQueueDelayMicroseconds: null);
        await using var server = await ServerProcess.StartAsync(_repository.Path, "--exit-timeout-secs=60");

        // Held requests: queued in the slow model when the signal comes; every one must be answered, and correctly.
        var held = new List<Task>();
        for (var i = 0; i < 24; i++)
        {
            held.Add(HttpInferExpectingSuccessAsync(server.Http, Slow, seed: i));
            held.Add(GrpcInferExpectingSuccessAsync(server.Grpc, Slow, seed: 1000 + i));
        }
        await E2E.WaitUntilAsync(async () => await PendingAsync(server, Slow) == held.Count || held.Any(t => t.IsCompleted),
            $"the {held.Count} held requests to be queued", seconds: 60);
        foreach (var early in held.Where(t => t.IsCompleted))
        {
            await early; // a failure shows as itself
        }
        Assert.False(held.Any(t => t.IsCompleted), "a held request was answered before the signal");

        // Steady traffic to the fast model and health probes, across the signal and the close.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var loops = new List<ClientLoop>
        {
            ClientLoop.Run("http infer 1", token => HttpInferAsync(server.Http, Fast, token), stop.Token),
            ClientLoop.Run("http infer 2", token => HttpInferAsync(server.Http, Fast, token), stop.Token),
            ClientLoop.Run("grpc infer 1", token => GrpcInferAsync(server.Grpc, Fast, token), stop.Token),
            ClientLoop.Run("grpc infer 2", token => GrpcInferAsync(server.Grpc, Fast, token), stop.Token),
        };
        var live = ClientLoop.Run("live", token => ProbeAsync(server.Http, "v2/health/live", token), stop.Token);
        var ready = ClientLoop.Run("ready", token => ProbeAsync(server.Http, "v2/health/ready", token), stop.Token);
        await E2E.WaitUntilAsync(() => Task.FromResult(loops.All(l => l.Count(Answer.Served) > 0) && ready.Count(Answer.Served) > 0),
            "traffic to be served before the signal", seconds: 60);

        var clock = Stopwatch.StartNew();
        server.Terminate();

        // Draining: not ready at once, while the process still answers on every listener.
        await E2E.WaitUntilAsync(() => Task.FromResult(ready.Count(Answer.NotReady) > 0), "readiness to answer not ready", seconds: 30);
        Assert.False(held.All(t => t.IsCompleted), "the held requests were all answered before the drain could be observed");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server.Http, "v2/health/live"));
        Assert.Equal(HttpStatusCode.BadRequest, await StatusAsync(server.Http, "v2/health/ready"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(server.Http, "health"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server.Http, "alive"));
        Assert.True((await server.Grpc.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: Ct)).Live);
        Assert.False((await server.Grpc.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: Ct)).Ready);
        var health = new Health.HealthClient(server.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct)).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" }, cancellationToken: Ct)).Status);
        await E2E.AssertErrorAsync(await server.Http.PostAsync($"v2/models/{Slow}/infer", Body(7), Ct), HttpStatusCode.ServiceUnavailable, ShuttingDown);
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.ModelInferAsync(GrpcRequest(Slow, 7), cancellationToken: Ct),
            StatusCode.Unavailable, ShuttingDown);

        // Nothing accepted is lost; then the listeners close and the process ends on its own.
        await Task.WhenAll(held);
        var exited = await server.WaitForExitAsync(TimeSpan.FromSeconds(90));
        var elapsed = clock.Elapsed;
        // The loops go on until each has found the listeners closed: the process can exit between two of a loop's calls.
        ClientLoop[] all = [.. loops, live, ready];
        if (exited)
        {
            await E2E.WaitUntilAsync(() => Task.FromResult(all.All(l => l.LastIs(Answer.Closed))), "every loop to find the listeners closed", seconds: 30);
        }
        await stop.CancelAsync();
        await Task.WhenAll(all.Select(l => l.Completion));
        TestContext.Current.TestOutputHelper?.WriteLine($"SIGTERM to exit: {elapsed.TotalMilliseconds:F0} ms");
        foreach (var loop in all)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"{loop.Name}: {loop.Summary()}");
        }

        Assert.True(exited, $"the server did not exit within 90 s of SIGTERM:\n{server.Output}");
        Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}:\n{server.Output}");
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"exited {elapsed} after SIGTERM, past the exit timeout");
        Assert.Matches(@"Draining: \d+ inference request\(s\) in flight, waiting up to 60 s", server.Output);
        Assert.Contains("Drained: no inference request in flight", server.Output, StringComparison.Ordinal);

        foreach (var loop in loops)
        {
            // Refusals may still come at the close, on connections the server had not shut yet.
            loop.AssertStages([Answer.Served], [Answer.Refused, Answer.Closed, Answer.Dropped]);
            loop.AssertRefusedBeforeAnyClose();
            loop.AssertLast(Answer.Closed);
        }
        Assert.True(loops.Where(l => l.Name.StartsWith("http", StringComparison.Ordinal)).Sum(l => l.Count(Answer.Refused)) > 0,
            "no HTTP request was refused with 503 while draining");
        Assert.True(loops.Where(l => l.Name.StartsWith("grpc", StringComparison.Ordinal)).Sum(l => l.Count(Answer.Refused)) > 0,
            "no gRPC request was refused with UNAVAILABLE while draining");
        // Live every time it answered; ready until the signal, never after.
        live.AssertStages([Answer.Served, Answer.Closed, Answer.Dropped]);
        live.AssertLast(Answer.Closed);
        ready.AssertStages([Answer.Served], [Answer.NotReady, Answer.Closed, Answer.Dropped]);
        ready.AssertLast(Answer.Closed);
    }

    [Fact]
    public async Task Sigterm_WithRequestsThatOutlastTheExitTimeout_ExitsZeroSoonAfterIt()
    {
        // Batches form only at 64 rows or after 10 minutes: these requests would outlast any test.
        IdentityModelBuilder.Write(_repository.Path, Slow, width: Width, maxBatchSize: 64, maxQueueDelayMicroseconds: 600_000_000);
        await using var server = await ServerProcess.StartAsync(_repository.Path, "--exit-timeout-secs=1");
        var held = new List<Task>();
        for (var i = 0; i < 8; i++)
        {
            held.Add(IgnoringFailureAsync(server.Http.PostAsync($"v2/models/{Slow}/infer", Body(i), Ct)));
            held.Add(IgnoringFailureAsync(server.Grpc.ModelInferAsync(GrpcRequest(Slow, 100 + i), cancellationToken: Ct).ResponseAsync));
        }
        await E2E.WaitUntilAsync(async () => await PendingAsync(server, Slow) == held.Count, $"the {held.Count} requests to be queued", seconds: 60);

        var clock = Stopwatch.StartNew();
        server.Terminate();
        var exited = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;
        TestContext.Current.TestOutputHelper?.WriteLine($"SIGTERM to exit: {elapsed.TotalMilliseconds:F0} ms");

        Assert.True(exited, $"the server did not exit within 60 s of SIGTERM:\n{server.Output}");
        Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}:\n{server.Output}");
        // The exit timeout, then at most the host's grace for closing the listeners, plus slack for a busy machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(1 + 5 + 15), $"exited {elapsed} after SIGTERM");
        Assert.Matches(@"Draining: 16 inference request\(s\) in flight, waiting up to 1 s", server.Output);
        Assert.Contains("Drain timed out after 1 s: 16 inference request(s) still in flight", server.Output, StringComparison.Ordinal);
        await Task.WhenAll(held).WaitAsync(TimeSpan.FromSeconds(60), Ct);
    }

    [Fact]
    public async Task Sigterm_WithAStreamThatKeepsSending_AndAnIdleKeepAliveConnection_AnswersTheStreamEndsItAndExitsPromptly()
    {
        IdentityModelBuilder.Write(_repository.Path, Slow, width: Width, maxBatchSize: 64, maxQueueDelayMicroseconds: 2_000_000);
        IdentityModelBuilder.Write(_repository.Path, Fast, width: Width, maxBatchSize: 8, maxQueueDelayMicroseconds: null);
        await using var server = await ServerProcess.StartAsync(_repository.Path, "--exit-timeout-secs=30");

        // An HTTP/1.1 connection kept alive and idle across the signal.
        using var idle = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = server.HttpAddress,
        };
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(idle, "v2/health/live"));

        // A stream with requests queued in the slow model when the signal comes; every one must be answered, and correctly.
        using var stream = server.Grpc.ModelStreamInfer(cancellationToken: Ct);
        const int held = 8;
        for (var i = 0; i < held; i++)
        {
            await stream.RequestStream.WriteAsync(E2E.RawRequest(Slow, "INPUT0", [1, Width], Input(i), "OUTPUT0", id: $"held-{i}"), Ct);
        }
        var replies = new List<ModelStreamInferResponse>();
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var reply in stream.ResponseStream.ReadAllAsync(Ct))
                {
                    lock (replies)
                    {
                        replies.Add(reply);
                    }
                }
                return (Code: StatusCode.OK, Detail: "");
            }
            catch (RpcException e)
            {
                return (Code: e.StatusCode, Detail: e.Status.Detail);
            }
        }, Ct);
        await E2E.WaitUntilAsync(async () => await PendingAsync(server, Slow) == held || reader.IsCompleted, $"the {held} held requests to be queued", seconds: 60);

        var clock = Stopwatch.StartNew();
        server.Terminate();

        // The client keeps sending on the stream while the server drains, until the stream ends.
        var sent = 0;
        var sender = Task.Run(async () =>
        {
            try
            {
                while (!reader.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await stream.RequestStream.WriteAsync(E2E.RawRequest(Fast, "INPUT0", [1, Width], Input(100 + sent), "OUTPUT0", id: $"late-{sent}"), Ct);
                    sent++;
                    await Task.Delay(20, Ct);
                }
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException or HttpRequestException)
            {
                // The server ended the stream.
            }
        }, Ct);

        var exited = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;
        var ending = await reader.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await sender.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"SIGTERM to exit: {elapsed.TotalMilliseconds:F0} ms; stream ended with {ending.Code} ({ending.Detail}); {sent} sent after SIGTERM, {replies.Count} replies");

        Assert.True(exited, $"the server did not exit within 60 s of SIGTERM:\n{server.Output}");
        Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}:\n{server.Output}");
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"exited {elapsed} after SIGTERM with a stream and a kept-alive connection open:\n{server.Output}");
        // Ended by the server once the drain was over, not cut off at the host's shutdown timeout.
        Assert.True(ending.Code == StatusCode.Unavailable && ending.Detail.Contains(ShuttingDown, StringComparison.Ordinal),
            $"the stream ended with {ending.Code}: {ending.Detail}");
        Assert.True(sent > 0, "nothing was sent on the stream while the server drained");
        for (var i = 0; i < held; i++)
        {
            var reply = Assert.Single(replies, r => r.InferResponse.Id == $"held-{i}");
            Assert.True(reply.ErrorMessage.Length == 0, $"held-{i}: {reply.ErrorMessage}");
            AssertEcho(i, E2E.Floats(reply.InferResponse.RawOutputContents[0]));
        }
        // What came after the signal was served (read before the drain began) or refused, each with its own reply.
        foreach (var reply in replies.Where(r => r.InferResponse.Id.StartsWith("late-", StringComparison.Ordinal)))
        {
            if (reply.ErrorMessage.Length == 0)
            {
                AssertEcho(100 + int.Parse(reply.InferResponse.Id["late-".Length..], System.Globalization.CultureInfo.InvariantCulture),
                    E2E.Floats(reply.InferResponse.RawOutputContents[0]));
            }
            else
            {
                Assert.Contains(ShuttingDown, reply.ErrorMessage, StringComparison.Ordinal);
            }
        }
        Assert.Contains("Drained: no inference request in flight", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_InProcess_ClosesHttp1ConnectionsAfterEachAnswer_AndEndsWhenTheHeldRequestsAreAnswered()
    {
        IdentityModelBuilder.Write(_repository.Path, Slow, width: Width, maxBatchSize: 64, maxQueueDelayMicroseconds: 3_000_000);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--exit-timeout-secs=60");
        using (var before = await server.Http.GetAsync("v2/health/live", Ct))
        {
            Assert.False(before.Headers.ConnectionClose ?? false);
        }
        var heldHttp = HttpInferExpectingSuccessAsync(server.Http, Slow, seed: 1);
        var heldGrpc = GrpcInferExpectingSuccessAsync(server.Grpc, Slow, seed: 2);
        using var stream = server.Grpc.ModelStreamInfer(cancellationToken: Ct);
        await stream.RequestStream.WriteAsync(E2E.RawRequest(Slow, "INPUT0", [1, Width], Input(5), "OUTPUT0", id: "held"), Ct);
        var manager = server.Services.GetRequiredService<ModelManager>();
        await E2E.WaitUntilAsync(() => Task.FromResult(manager.InflightCount == 3 || heldHttp.IsCompleted || heldGrpc.IsCompleted), "the three requests to be queued");

        var drain = server.Services.GetRequiredService<ServerDrain>();
        var drained = drain.StoppingAsync(Ct);
        Assert.True(drain.IsDraining);
        Assert.False(manager.IsReady);
        Assert.True(manager.IsLive);
        using (var live = await server.Http.GetAsync("v2/health/live", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.True(live.Headers.ConnectionClose, "a live answer while draining kept its connection open");
        }
        using (var refused = await server.Http.PostAsync($"v2/models/{Slow}/infer", Body(3), Ct))
        {
            Assert.True(refused.Headers.ConnectionClose, "a refusal while draining kept its connection open");
            await E2E.AssertErrorAsync(refused, HttpStatusCode.ServiceUnavailable, ShuttingDown);
        }
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.ModelInferAsync(GrpcRequest(Slow, 4), cancellationToken: Ct),
            StatusCode.Unavailable, ShuttingDown);
        Assert.False(drained.IsCompleted, "the drain ended with three requests held");
        Assert.False(drain.Drained.IsCancellationRequested, "the streams were told to end while requests were held");
        Assert.Equal(1, drain.OpenStreams);

        // A message sent on the stream while draining is refused with its own reply; the stream stays open meanwhile.
        await stream.RequestStream.WriteAsync(E2E.RawRequest(Slow, "INPUT0", [1, Width], Input(6), "OUTPUT0", id: "late"), Ct);
        Assert.True(await stream.ResponseStream.MoveNext(Ct));
        Assert.Equal("late", stream.ResponseStream.Current.InferResponse.Id);
        Assert.Contains(ShuttingDown, stream.ResponseStream.Current.ErrorMessage, StringComparison.Ordinal);

        await drained.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await Task.WhenAll(heldHttp, heldGrpc);
        Assert.Equal(0, manager.InflightCount);
        Assert.True(drain.Drained.IsCancellationRequested);
        // The drain returns (and the listeners may close) only once the stream it ended has written its final status.
        Assert.Equal(0, drain.OpenStreams);

        // The stream answers what it read before the drain ended, then ends with UNAVAILABLE, though Kestrel still runs.
        Assert.True(await stream.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("held", stream.ResponseStream.Current.InferResponse.Id);
        Assert.Equal("", stream.ResponseStream.Current.ErrorMessage);
        AssertEcho(5, E2E.Floats(stream.ResponseStream.Current.InferResponse.RawOutputContents[0]));
        await E2E.AssertRpcErrorAsync(async () => await stream.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct),
            StatusCode.Unavailable, ShuttingDown);

        // A stream opened after the drain ends at once, the same way.
        using var after = server.Grpc.ModelStreamInfer(cancellationToken: Ct);
        await E2E.AssertRpcErrorAsync(async () => await after.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct),
            StatusCode.Unavailable, ShuttingDown);
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path, Ct);
        return response.StatusCode;
    }

    private static async Task IgnoringFailureAsync(Task call)
    {
        try
        {
            await call;
        }
        catch (Exception e) when (e is HttpRequestException or RpcException or IOException)
        {
            // Cut off at exit: expected for requests still in flight after the exit timeout.
        }
    }

    private static async Task<double> PendingAsync(ServerProcess server, string model)
    {
        var text = await server.Http.GetStringAsync(new Uri(server.MetricsAddress, "metrics"), Ct);
        return PrometheusText.Parse(text).Value("nv_inference_pending_request_count", ("model", model), ("version", "1"));
    }

    private static float[] Input(int seed) => Kserve.RandomFloats(Width, seed);

    private static StringContent Body(int seed) =>
        Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, Width], Input(seed))) });

    private static ModelInferRequest GrpcRequest(string model, int seed) => E2E.RawRequest(model, "INPUT0", [1, Width], Input(seed), "OUTPUT0");

    private static async Task HttpInferExpectingSuccessAsync(HttpClient http, string model, int seed)
    {
        using var response = await http.PostAsync($"v2/models/{model}/infer", Body(seed), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        AssertEcho(seed, JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray());
    }

    private static async Task GrpcInferExpectingSuccessAsync(GRPCInferenceService.GRPCInferenceServiceClient grpc, string model, int seed)
    {
        var reply = await grpc.ModelInferAsync(GrpcRequest(model, seed), cancellationToken: Ct);
        AssertEcho(seed, E2E.Floats(reply.RawOutputContents[0]));
    }

    private static void AssertEcho(int seed, float[] output)
    {
        var input = Input(seed);
        Assert.Equal(input.Length, output.Length);
        for (var i = 0; i < input.Length; i++)
        {
            Assert.Equal(input[i], output[i], 1e-6f);
        }
    }

    private static async Task<(Answer, string)> HttpInferAsync(HttpClient http, string model, CancellationToken token)
    {
        var seed = Random.Shared.Next();
        try
        {
            using var response = await http.PostAsync($"v2/models/{model}/infer", Body(seed), token);
            var text = await response.Content.ReadAsStringAsync(token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                AssertEcho(seed, JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray());
                return (Answer.Served, "");
            }
            var error = JsonNode.Parse(text)?["error"]?.GetValue<string>() ?? "";
            return response.StatusCode == HttpStatusCode.ServiceUnavailable && error.Contains(ShuttingDown, StringComparison.Ordinal)
                ? (Answer.Refused, error)
                : (Answer.Other, $"{(int)response.StatusCode}: {text}");
        }
        catch (HttpRequestException e) when (IsConnectionRefused(e))
        {
            return (Answer.Closed, e.Message);
        }
        catch (HttpRequestException e) when (IsDroppedUnanswered(e))
        {
            return (Answer.Dropped, e.Message);
        }
    }

    private static async Task<(Answer, string)> GrpcInferAsync(GRPCInferenceService.GRPCInferenceServiceClient grpc, string model, CancellationToken token)
    {
        var seed = Random.Shared.Next();
        try
        {
            var reply = await grpc.ModelInferAsync(GrpcRequest(model, seed), cancellationToken: token);
            AssertEcho(seed, E2E.Floats(reply.RawOutputContents[0]));
            return (Answer.Served, "");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && e.Status.Detail.Contains(ShuttingDown, StringComparison.Ordinal))
        {
            return (Answer.Refused, e.Status.Detail);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && IsConnectionRefused(e.Status.DebugException))
        {
            return (Answer.Closed, e.Status.Detail);
        }
        catch (RpcException e) when (IsUnprocessedAtGoAway(e.Status.DebugException))
        {
            // A call started on a connection the server was closing with GOAWAY (NO_ERROR): HTTP/2 says the server
            // did not process it, so nothing accepted is lost; as a reset, allowed only after the loop was refused.
            return (Answer.Dropped, e.Status.Detail);
        }
    }

    /// <summary>The client's "HTTP/2 server closed the connection ... NO_ERROR": the connection's graceful close
    /// (GOAWAY) reached a request the server never accepted.</summary>
    private static bool IsUnprocessedAtGoAway(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException { ErrorCode: 0 })
            {
                return true;
            }
        }
        return false;
    }

    private static async Task<(Answer, string)> ProbeAsync(HttpClient http, string path, CancellationToken token)
    {
        try
        {
            using var response = await http.GetAsync(path, token);
            return response.StatusCode switch
            {
                HttpStatusCode.OK => (Answer.Served, ""),
                HttpStatusCode.BadRequest => (Answer.NotReady, ""),
                var status => (Answer.Other, $"{(int)status}"),
            };
        }
        catch (HttpRequestException e) when (IsConnectionRefused(e))
        {
            return (Answer.Closed, e.Message);
        }
        catch (HttpRequestException e) when (IsDroppedUnanswered(e))
        {
            return (Answer.Dropped, e.Message);
        }
    }

    /// <summary>The connection ended, or was reset, before any answer: see the class remarks.</summary>
    private static bool IsDroppedUnanswered(HttpRequestException e)
    {
        if (e.HttpRequestError == HttpRequestError.ResponseEnded)
        {
            return true;
        }
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsConnectionRefused(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>What one client call got back.</summary>
    private enum Answer
    {
        /// <summary>200 (inference with the right outputs; a probe that says live or ready).</summary>
        Served,
        /// <summary>HTTP 503 / gRPC UNAVAILABLE saying the server is shutting down.</summary>
        Refused,
        /// <summary>A probe's 400: not ready.</summary>
        NotReady,
        /// <summary>Connection refused: the listeners are closed.</summary>
        Closed,
        /// <summary>The connection ended or was reset before any answer: the request was never read (see the class remarks).</summary>
        Dropped,
        /// <summary>Anything else: always a failure.</summary>
        Other,
    }

    /// <summary>One client calling again and again, 10 ms apart, until stopped (at most 5000 calls); keeps every answer
    /// in order. Thread-safe to read while it runs.</summary>
    private sealed class ClientLoop
    {
        private readonly List<(Answer Answer, string Detail)> _answers = [];

        private ClientLoop(string name) => Name = name;

        public string Name { get; }

        public Task Completion { get; private set; } = Task.CompletedTask;

        public static ClientLoop Run(string name, Func<CancellationToken, Task<(Answer, string)>> call, CancellationToken token)
        {
            var loop = new ClientLoop(name);
            loop.Completion = Task.Run(() => loop.RunAsync(call, token), CancellationToken.None);
            return loop;
        }

        public int Count(Answer answer)
        {
            lock (_answers)
            {
                return _answers.Count(a => a.Answer == answer);
            }
        }

        /// <summary>Asserts that only the answers of <paramref name="stages"/> came, stage after stage (a stage may be
        /// missing; its answers may mix and repeat).</summary>
        public void AssertStages(params Answer[][] stages)
        {
            var answers = Snapshot();
            var stage = 0;
            foreach (var (answer, detail) in answers)
            {
                var index = Array.FindIndex(stages, s => s.Contains(answer));
                Assert.True(index >= 0, $"{Name}: unexpected {answer} ({detail}); answers: {Summary(answers)}");
                Assert.True(index >= stage, $"{Name}: {answer} after {string.Join("/", stages[stage])}; answers: {Summary(answers)}");
                stage = index;
            }
        }

        /// <summary>Asserts that the loop was refused by the drain before its first connection refused or dropped: the
        /// listeners stayed open while the server drained.</summary>
        public void AssertRefusedBeforeAnyClose()
        {
            var answers = Snapshot();
            var firstClose = answers.FindIndex(a => a.Answer is Answer.Closed or Answer.Dropped);
            var firstRefused = answers.FindIndex(a => a.Answer == Answer.Refused);
            Assert.True(firstClose < 0 || (firstRefused >= 0 && firstRefused < firstClose),
                $"{Name}: the connection closed before the drain refused a request; answers: {Summary(answers)}");
        }

        /// <summary>Whether the last answer so far is <paramref name="answer"/>.</summary>
        public bool LastIs(Answer answer)
        {
            lock (_answers)
            {
                return _answers.Count > 0 && _answers[^1].Answer == answer;
            }
        }

        /// <summary>Asserts that the last answer was <paramref name="answer"/>.</summary>
        public void AssertLast(Answer answer)
        {
            var answers = Snapshot();
            Assert.True(answers.Count > 0 && answers[^1].Answer == answer, $"{Name}: the last answer was not {answer}; answers: {Summary(answers)}");
        }

        private List<(Answer Answer, string Detail)> Snapshot()
        {
            lock (_answers)
            {
                return [.. _answers];
            }
        }

        /// <summary>The answers so far as runs: "Served x12, Refused x40, Closed x3".</summary>
        public string Summary() => Summary(Snapshot());

        private static string Summary(List<(Answer Answer, string Detail)> answers) => string.Join(", ", Runs(answers));

        private static IEnumerable<string> Runs(List<(Answer Answer, string Detail)> answers)
        {
            for (var i = 0; i < answers.Count;)
            {
                var j = i;
                while (j < answers.Count && answers[j].Answer == answers[i].Answer)
                {
                    j++;
                }
                yield return $"{answers[i].Answer} x{j - i}";
                i = j;
            }
        }

        private async Task RunAsync(Func<CancellationToken, Task<(Answer, string)>> call, CancellationToken token)
        {
            for (var i = 0; i < 5000 && !token.IsCancellationRequested; i++)
            {
                (Answer, string) result;
                try
                {
                    result = await call(token);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    result = (Answer.Other, e.ToString());
                }
                lock (_answers)
                {
                    _answers.Add(result);
                }
                try
                {
                    await Task.Delay(10, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
