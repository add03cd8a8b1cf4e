using LoadTest.Inputs;
using LoadTest.Clients;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using LoadTest.Cli;
using LoadTest.Telemetry;

namespace Inference.Tests.LoadTest;

/// <summary>One real server with <c>identity</c> (FP32 [batch,16]) and <c>resnet_224</c> (a tiny ResNet with a
/// 3x224x224 input), shared by the end-to-end runs of the generator.</summary>
public sealed class LoadTestServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _repository = new();

    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        IdentityModelBuilder.Write(_repository.Path, "identity", width: 16, maxBatchSize: 8);
        DefaultModelRepository.WriteSmallModel(_repository.Path, "resnet_224", ResNetOptions.Tiny with { ImageSize = 224 }, maxBatchSize: 4);
        Server = await ServerHost.StartAsync(_repository.Path, "--strict-readiness=false");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _repository.Dispose();
    }
}

public sealed class LoadTestEndToEndTests(LoadTestServerFixture fixture) : IClassFixture<LoadTestServerFixture>
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("grpc-stream")]
    [InlineData("http")]
    [InlineData("http-json")]
    public async Task Sweep_AgainstTheRealServer_MeasuresEveryLevelWithServerBreakdown(string protocol)
    {
        using var output = new TempDirectory();
        var url = protocol.StartsWith("grpc", StringComparison.Ordinal) ? fixture.Server.GrpcAddress : fixture.Server.HttpAddress;
        var requests = new List<string>();
        using var listener = Listen(requests);

        var code = await LoadTestCommand.RunAsync(["--url", url.ToString(), "--protocol", protocol, "-m", "identity", "-b", "2",
            "--concurrency", "1:2:x2", "--duration", "1", "--warmup", "0.3", "-p", "500", "--output-dir", output.Path, "-q"],
            TestContext.Current.CancellationToken);

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output.Combine("results.json"), TestContext.Current.CancellationToken));
        var levels = json.RootElement.GetProperty("levels");
        Assert.Equal(2, levels.GetArrayLength());
        foreach (var level in levels.EnumerateArray())
        {
            Assert.True(level.GetProperty("successes").GetInt64() > 0);
            Assert.Equal(0, level.GetProperty("error_count").GetInt64());
            Assert.Equal(2 * level.GetProperty("requests_per_second").GetDouble(), level.GetProperty("inferences_per_second").GetDouble(), 6);
            Assert.True(level.GetProperty("latency").GetProperty("p99_us").GetDouble() > 0);
            Assert.True(level.GetProperty("server").GetProperty("requests").GetInt64() > 0);
            Assert.True(level.GetProperty("server").GetProperty("average_batch_size").GetDouble() >= 2);
        }
        Assert.Contains("<svg", await File.ReadAllTextAsync(output.Combine("report.html"), TestContext.Current.CancellationToken));
        lock (requests)
        {
            Assert.Contains("ok", requests);
        }
    }

    [Fact]
    public async Task GrpcStream_ManyCallsInFlight_EachGetsItsOwnReply_AndAServerErrorIsLabelled()
    {
        var template = new RequestTemplate([new TensorData("INPUT0", "FP32", [1, 16], new byte[64])], ["OUTPUT0"]);
        var validator = new ResponseValidator([new OutputExpectation("OUTPUT0", "FP32", [1, 16])], expectTop1: null);
        await using (var client = new GrpcStreamInferClient(fixture.Server.GrpcAddress, "identity", "", [template], validator, channels: 2))
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => client.InferAsync(TestContext.Current.CancellationToken)));
            Assert.All(results, Assert.Null);
        }
        await using (var wrong = new GrpcStreamInferClient(fixture.Server.GrpcAddress, "no_such_model", "", [template], validator, channels: 1))
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => wrong.InferAsync(TestContext.Current.CancellationToken)));
            Assert.All(results, r => Assert.Equal("grpc-stream-error", r));
        }
    }

    [Fact]
    public async Task GrpcStream_ToAPortNobodyListensOn_ReportsTheStreamUnavailable_NotAnException()
    {
        // A port that was free a moment ago: what a client sees once a draining server has closed its listener.
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var template = new RequestTemplate([new TensorData("INPUT0", "FP32", [1, 16], new byte[64])], ["OUTPUT0"]);
        var validator = new ResponseValidator([new OutputExpectation("OUTPUT0", "FP32", [1, 16])], expectTop1: null);
        await using var client = new GrpcStreamInferClient(new Uri($"http://127.0.0.1:{port}"), "identity", "", [template], validator, channels: 1);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.InferAsync(TestContext.Current.CancellationToken)));

        Assert.All(results, r => Assert.Equal("grpc-Unavailable", r));
    }

    [Fact]
    public async Task OpenLoop_AgainstTheRealServer_SendsAtTheRequestedRate()
    {
        using var output = new TempDirectory();

        var code = await LoadTestCommand.RunAsync(["--url", fixture.Server.GrpcAddress.ToString(), "-m", "identity",
            "--request-rate", "200", "--poisson", "--duration", "2", "--warmup", "0.3", "-p", "1000", "--output-dir", output.Path, "-q"],
            TestContext.Current.CancellationToken);

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output.Combine("results.json"), TestContext.Current.CancellationToken));
        var level = json.RootElement.GetProperty("levels")[0];
        Assert.Equal("request_rate", level.GetProperty("mode").GetString());
        Assert.InRange(level.GetProperty("requests_per_second").GetDouble(), 140, 260);
        Assert.Equal(200, level.GetProperty("offered_requests_per_second").GetDouble());
        Assert.InRange(level.GetProperty("achieved_requests_per_second").GetDouble(), 140, 260);
        var html = await File.ReadAllTextAsync(output.Combine("report.html"), TestContext.Current.CancellationToken);
        Assert.Contains("Offered vs achieved request rate", html);
        Assert.Contains("<th>achieved req/s</th>", html);
    }

    [Fact]
    public async Task Scenario_UsersSendImagesOverGrpc_AndTheWrongTop1FailsTheRun()
    {
        using var output = new TempDirectory();
        string[] args = ["scenario", "--url", fixture.Server.GrpcAddress.ToString(), "-m", "resnet_224", "--users", "3", "--spawn-rate", "20",
            "--think", "0.02:0.05", "--duration", "1.5", "-p", "500", "--output-dir", output.Path, "-q"];

        var code = await LoadTestCommand.RunAsync(args, TestContext.Current.CancellationToken);

        Assert.Equal(0, code);
        using (var json = JsonDocument.Parse(await File.ReadAllTextAsync(output.Combine("results.json"), TestContext.Current.CancellationToken)))
        {
            var level = json.RootElement.GetProperty("levels")[0];
            Assert.Equal("users", level.GetProperty("mode").GetString());
            Assert.Equal(3, level.GetProperty("level").GetDouble());
            Assert.True(level.GetProperty("successes").GetInt64() >= 6);
            Assert.Contains("[1,3,224,224]", json.RootElement.GetProperty("info").GetProperty("inputs").GetString());
        }

        var wrong = await LoadTestCommand.RunAsync([.. args, "--expect-top1", "999"], TestContext.Current.CancellationToken);

        Assert.Equal(1, wrong);
    }

    [Fact]
    public async Task UnknownModel_ExitsWithTwo()
    {
        var code = await LoadTestCommand.RunAsync(["--url", fixture.Server.GrpcAddress.ToString(), "-m", "no_such_model", "--duration", "1", "-q"],
            TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
    }

    private static MeterListener Listen(List<string> statuses)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LoadTestMetrics.MeterName && instrument.Name == LoadTestMetrics.RequestsName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "status")
                {
                    lock (statuses)
                    {
                        statuses.Add((string)tag.Value!);
                    }
                }
            }
        });
        listener.Start();
        return listener;
    }
}
