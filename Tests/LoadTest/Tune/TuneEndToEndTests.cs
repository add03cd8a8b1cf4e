using System.Text.Json;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.ModelTools;
using Inference.Server.Repository;
using Inference.Tests.ModelTools;
using LoadTest.Cli;
using LoadTest.Load;
using LoadTest.Stats;
using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

/// <summary>
/// <c>LoadTest tune</c> for real: the identity model (FP32 [batch,16]), its variants built by the model tools, a
/// server the tune starts, very short fixed measurements. Timings are never asserted: only which configs were
/// tried, which excluded, and that the choice is the best of the run's own results file. Not run in parallel with
/// other tests (<see cref="TuneEndToEndCollection"/>): each starts servers and loads the cores, which the suite's
/// timing checks (drain, soak, signal stop) should not share.
/// </summary>
[Collection(TuneEndToEndCollection.Name)]
public sealed class TuneEndToEndTests
{
    private static readonly string[] Measurement = ["--concurrency", "1,2", "--duration", "0.3", "--warmup", "0.1", "-p", "300", "-q"];

    [Fact]
    public async Task Tune_TriesTheSpaceThroughTheServer_SkipsTheVariantThatFails_ChoosesTheBestMeasured_AndResumes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var model = IdentityModelBuilder.Write(temp.Combine("repo"), "identity", width: 16, maxBatchSize: 8);
        var output = temp.Combine("out");
        string[] args = ["tune", "-m", model, "-o", output, "--precision", "fp32,fp16,preprocess", "--instances", "1,2", "--max-queue-delay-us", "off,0", .. Measurement];

        Assert.Equal(0, await LoadTestCommand.RunAsync(args, ct));

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json"), ct));
        var root = json.RootElement;
        var points = root.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("result")).ToList();
        var space = SpaceOptions.Parse(["fp32,fp16,preprocess"], ["cpu"], ["off"], "1,2", "off,0", ["none"], 8);
        var grid = space.Expand().Select(p => p.Key).ToHashSet();
        Assert.All(points, p => Assert.Contains(p.GetProperty("key").GetString()!, grid));
        Assert.Equal(points.Count, points.Select(p => p.GetProperty("key").GetString()).Distinct().Count());
        Assert.Equal(space.Baseline.Key, points[0].GetProperty("key").GetString());

        // The UINT8 image variant cannot be made from a [batch,16] model: reported, its point skipped, nothing else lost.
        var preprocess = root.GetProperty("variants").EnumerateArray().Single(v => v.GetProperty("precision").GetString() == "preprocess");
        Assert.Equal("failed", preprocess.GetProperty("status").GetString());
        var skipped = Assert.Single(points, p => p.GetProperty("point").GetProperty("precision").GetString() == "preprocess");
        Assert.Equal(("failed", "variant"), (skipped.GetProperty("status").GetString(), skipped.GetProperty("failed_stage").GetString()));
        var measured = points.Where(p => p.GetProperty("status").GetString() == "measured").ToList();
        Assert.Equal(points.Count - 1, measured.Count);
        Assert.Contains(measured, p => p.GetProperty("point").GetProperty("precision").GetString() == "fp16");

        // Every config sent was one the server's validator accepts; each loaded and was measured at both levels.
        foreach (var p in measured)
        {
            var config = PbtxtParser.ParseModelConfig(p.GetProperty("config_text").GetString()!, "x");
            Assert.True(config.IsSuccess);
            Assert.Null(ModelConfigValidator.Validate(config.Value!, "x", config.Value!.Name));
            Assert.Equal(2, p.GetProperty("levels").GetArrayLength());
        }

        // The choice is the most inferences/s of a clean level in the run's own results.
        var best = measured.MaxBy(p => p.GetProperty("levels").EnumerateArray()
            .Where(l => l.GetProperty("errors").GetInt64() == 0 && l.GetProperty("successes").GetInt64() > 0)
            .Max(l => l.GetProperty("inferences_per_second").GetDouble()))!;
        Assert.Equal(best.GetProperty("key").GetString(), root.GetProperty("best_key").GetString());
        var csv = await File.ReadAllLinesAsync(Path.Combine(output, "results.csv"), ct);
        Assert.Equal(TuneFiles.CsvHeader, csv[0]);
        var columns = csv[0].Split(',').ToList();
        var rows = csv.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal([best.GetProperty("key").GetString()!], rows.Where(r => r[columns.IndexOf("best")] == "yes").Select(r => r[columns.IndexOf("key")]).Distinct());
        var bestConfig = PbtxtParser.ParseModelConfig(await File.ReadAllTextAsync(Path.Combine(output, "best", "identity", "config.pbtxt"), ct), "x");
        Assert.Equal("identity", bestConfig.Value!.Name);
        Assert.True(File.Exists(Path.Combine(output, "best", "identity", "1", "model.onnx")));
        var html = await File.ReadAllTextAsync(Path.Combine(output, "report.html"), ct);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("The ladder", html, StringComparison.Ordinal);

        // The same folder again: refused without --resume; with it, nothing is measured twice.
        var state = await File.ReadAllTextAsync(Path.Combine(output, TuneState.FileName), ct);
        Assert.Equal(2, await LoadTestCommand.RunAsync(args, ct));
        Assert.Equal(0, await LoadTestCommand.RunAsync([.. args, "--resume"], ct));
        Assert.Equal(Results(state), Results(await File.ReadAllTextAsync(Path.Combine(output, TuneState.FileName), ct)));
    }

    [Fact]
    public async Task Tune_AgainstARunningServer_WritesTheVariantsIntoItsRepository_MeasuresThroughIt_AndLeavesItServingAsBefore()
    {
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var model = IdentityModelBuilder.Write(temp.Combine("source"), "identity", width: 16, maxBatchSize: 8);
        var served = temp.Combine("served");
        IdentityModelBuilder.Write(served, "other", width: 4, maxBatchSize: 8);
        await using var server = await Inference.Tests.EndToEnd.ServerProcess.StartAsync(served, "--model-control-mode=explicit", "--load-model=other");
        var output = temp.Combine("out");

        var code = await LoadTestCommand.RunAsync(["tune", "-m", model, "-o", output, "--url", server.HttpAddress.ToString(),
            "--grpc-url", server.GrpcAddress.ToString(), "--server-repository", served,
            "--precision", "fp32,fp16", "--instances", "1,2", "--max-queue-delay-us", "off", .. Measurement], ct);

        Assert.True(code == 0, $"tune exited {code}; server:\n{server.Output}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json"), ct));
        var points = json.RootElement.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("result")).ToList();
        Assert.Equal(4, points.Count(p => p.GetProperty("status").GetString() == "measured"));
        Assert.All(points, p => Assert.Equal(2, p.GetProperty("levels").GetArrayLength()));
        // The variants were written into the repository the server serves, loaded there and unloaded again.
        Assert.True(File.Exists(Path.Combine(served, "identity_fp16", "1", "model.onnx")));
        Assert.False(Directory.Exists(Path.Combine(output, "repository")));
        using var index = await server.Http.PostAsync("v2/repository/index", new StringContent("{}"), ct);
        var states = JsonDocument.Parse(await index.Content.ReadAsStringAsync(ct)).RootElement.EnumerateArray()
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.TryGetProperty("state", out var s) ? s.GetString() : null);
        Assert.Equal("READY", states["other"]);
        Assert.Equal("UNAVAILABLE", states["identity_fp32"]);
        Assert.Equal("UNAVAILABLE", states["identity_fp16"]);
        // The operator's own model and the server's readiness are as they were.
        using var ready = await server.Http.GetAsync("v2/health/ready", ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        Assert.False(server.HasExited);
        Assert.True(File.Exists(Path.Combine(output, "best", "identity", "config.pbtxt")));
    }

    [Fact]
    public async Task StoppedRun_KeepsWhatItMeasured_AndTheResumedRunMeasuresOnlyTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var model = IdentityModelBuilder.Write(temp.Combine("repo"), "identity", width: 16, maxBatchSize: 8);
        var settings = new TuneSettings(Path.Combine(model, "1", "model.onnx"), "identity",
            SpaceOptions.Parse(["fp32,fp16"], ["cpu"], ["off"], "1,2", "off", ["none"], 8), new TuneGoal(TuneObjective.Throughput),
            new MeasureSettings("grpc", [1], new MeasurementPlan(TimeSpan.FromSeconds(0.1), TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(0.3), 0,
                new StabilityRule(), 3), 1, 2, 1),
            "generated", 10, 2, "started by tune");
        var run = new TuneRun(temp.Combine("out"), false, null, null, null, []);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Ctrl+C as the second config starts.
        var first = await TuneRunner.RunAsync(settings, run, new StopAt("[2] ", stop), stop.Token);

        Assert.True(first.Interrupted);
        var kept = Assert.Single(first.State.Results);
        Assert.Equal(settings.Space.Baseline.Key, kept.Key);
        Assert.Single(TuneState.Load(run.OutputDirectory)!.Results);

        var resumed = await TuneRunner.RunAsync(settings, run with { Resume = true }, NoProgress.Instance, ct);

        Assert.False(resumed.Interrupted);
        Assert.Equal((kept.Order, kept.Key), (resumed.State.Results[0].Order, resumed.State.Results[0].Key));
        Assert.Equal(kept.Levels, resumed.State.Results[0].Levels); // not measured again
        // With two values per dimension the combinations reach the whole grid, each point once.
        Assert.Equal(settings.Space.Expand().Select(p => p.Key).Order(), resumed.State.Results.Select(r => r.Key).Order());
        Assert.True(resumed.Report.SearchComplete);
    }

    [Fact]
    public async Task ConstraintsNoConfigMeets_ExitOne_WithTheReasonPerConfig_AndNoBestConfig()
    {
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var model = IdentityModelBuilder.Write(temp.Combine("repo"), "identity", width: 16, maxBatchSize: 8);
        var output = temp.Combine("out");

        var code = await LoadTestCommand.RunAsync(["tune", "-m", model, "-o", output, "--precision", "fp32", "--instances", "1", "--max-queue-delay-us", "off",
            "--max-p99-ms", "0.0001", .. Measurement], ct);

        Assert.Equal(1, code);
        Assert.False(Directory.Exists(Path.Combine(output, "best")));
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json"), ct));
        var point = Assert.Single(json.RootElement.GetProperty("points").EnumerateArray());
        Assert.False(point.GetProperty("feasible").GetBoolean());
        Assert.StartsWith("no level met the constraints (p99 <= 0.0001 ms", point.GetProperty("why").GetString(), StringComparison.Ordinal);
        Assert.Contains("no config met the constraints", await File.ReadAllTextAsync(Path.Combine(output, "report.html"), ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--accelerator", "cuda", "error: --accelerator cuda: this machine cannot run GPU instances (")]
    [InlineData("--cuda-graphs", "1,8", "error: --cuda-graphs: CUDA graphs apply to the cuda accelerator only")]
    [InlineData("--url", "http://127.0.0.1:1/", "error: --url needs --server-repository")]
    public async Task OptionsThatCannotTakeEffect_AreOneLineErrors_ExitTwo(string option, string value, string message)
    {
        if (option == "--accelerator" && GpuProbe.Available)
        {
            Assert.Skip("this machine has a GPU");
        }
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var model = IdentityModelBuilder.Write(temp.Combine("repo"), "identity", width: 16, maxBatchSize: 8);
        using var process = LoadTestProcess.Start(["tune", "-m", model, "-o", temp.Combine("out"), option, value], temp.Path);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);

        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith(message, (await stderr).Trim(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    private static string Results(string stateJson) => JsonDocument.Parse(stateJson).RootElement.GetProperty("results").GetRawText();

    /// <summary>Cancels <paramref name="stop"/> when a progress note starts with <paramref name="prefix"/>.</summary>
    private sealed class StopAt(string prefix, CancellationTokenSource stop) : IProgressSink
    {
        public void LevelStarted(LevelSpec level, LevelRecorder recorder)
        {
        }

        public void WindowClosed(LevelSpec level, int index, WindowSample window)
        {
        }

        public void LevelFinished(LevelSpec level, LevelResult result)
        {
        }

        public void Note(string message)
        {
            if (message.StartsWith(prefix, StringComparison.Ordinal))
            {
                stop.Cancel();
            }
        }
    }
}

/// <summary>The tune's end-to-end tests run alone, after the parallel part of the suite.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TuneEndToEndCollection
{
    public const string Name = "tune end to end";
}
