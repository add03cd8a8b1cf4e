using Inference.Server.Protos;
using LoadTest.Cli;
using LoadTest.Clients;
using LoadTest.Inputs;
using LoadTest.Load;
using LoadTest.Stats;

namespace LoadTest.Tune;

/// <summary>How each point is measured: LoadTest's closed loop over <see cref="Protocol"/> at each of
/// <see cref="Concurrency"/>, every level by <see cref="Plan"/> (warm-up, then windows until perf_analyzer's
/// stability rule holds, or a fixed duration), requests of <see cref="Batch"/> rows of seeded random data.</summary>
public sealed record MeasureSettings(string Protocol, IReadOnlyList<double> Concurrency, MeasurementPlan Plan, int Batch, int Channels, int Seed);

/// <summary>
/// Measures one point through the server: reads the GPU gauges, loads the point's config as an override, sweeps
/// the concurrency levels (the sweep stops after a level whose p99 is over <c>stopAboveP99Ms</c>: higher
/// concurrency only queues more), reading the GPU gauges after each level, and unloads the model. A load refused by
/// the server or a model whose requests cannot be built is a failed point, not an error of the run. Cancellation
/// (Ctrl+C) propagates: a half-measured point is not a result.
/// </summary>
public static class PointMeasurement
{
    public static async Task<PointResult> RunAsync(TuneServer server, RepositoryClient repository, ModelConfig config, PointResult pending,
        MeasureSettings settings, double? stopAboveP99Ms, IProgressSink progress, CancellationToken cancellationToken)
    {
        var (gpuBefore, _) = await repository.ReadGpuAsync(cancellationToken);
        pending = pending with { GpuMemoryBeforeLoadBytes = gpuBefore };
        if (await repository.LoadAsync(config, cancellationToken) is { } refused)
        {
            return pending with { Status = PointStatus.Failed, FailedStage = "load", Message = refused };
        }
        try
        {
            var levels = await SweepAsync(server, repository, config.Name, settings, stopAboveP99Ms, progress, cancellationToken);
            return pending with { Status = PointStatus.Measured, Levels = levels };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or HttpRequestException)
        {
            return pending with { Status = PointStatus.Failed, FailedStage = "measure", Message = e.Message };
        }
        finally
        {
            // Also after Ctrl+C, but briefly: the process has a few seconds to write its reports.
            using var unloadTime = new CancellationTokenSource(TimeSpan.FromSeconds(cancellationToken.IsCancellationRequested ? 2 : 120));
            try
            {
                if (await repository.UnloadAsync(config.Name, unloadTime.Token) is { } unloadError)
                {
                    progress.Note($"warning: unload of {config.Name}: {unloadError}");
                }
            }
            catch (OperationCanceledException) when (unloadTime.IsCancellationRequested)
            {
                progress.Note($"warning: unload of {config.Name} did not answer in time");
            }
        }
    }

    private static async Task<IReadOnlyList<MeasuredLevel>> SweepAsync(TuneServer server, RepositoryClient repository, string model,
        MeasureSettings s, double? stopAboveP99Ms, IProgressSink progress, CancellationToken cancellationToken)
    {
        var address = s.Protocol.StartsWith("grpc", StringComparison.Ordinal) ? server.GrpcAddress : server.HttpAddress;
        using var info = InferClientFactory.CreateInfo(s.Protocol, address, model, "");
        var metadata = await info.GetModelInfoAsync(cancellationToken);
        var requests = RequestSetup.Build(metadata, new RequestOptions(null, [], null, new Dictionary<string, long[]>(), null, s.Batch, null,
            ImageScaling.None, null, s.Seed));
        await using var client = InferClientFactory.Create(s.Protocol, address, model, "", requests.Templates, requests.Validator, s.Channels);
        var levels = new List<MeasuredLevel>();
        foreach (var concurrency in s.Concurrency)
        {
            var c = (int)Math.Round(concurrency);
            var spec = new LevelSpec("concurrency", c, requests.BatchSize, () => new ClosedLoopDriver(client, c));
            var result = await LevelRunner.RunAsync(spec, s.Plan, info, progress, cancellationToken);
            if (result.Interrupted)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            var (memory, utilization) = await repository.ReadGpuAsync(cancellationToken);
            levels.Add(Measured(result, memory, utilization));
            if (stopAboveP99Ms is { } limit && result.Latency.P99Us > limit * 1000)
            {
                progress.Note(FormattableString.Invariant($"p99 {result.Latency.P99Us / 1000:0.###} ms > {limit} ms at concurrency {c}: higher levels skipped"));
                break;
            }
        }
        return levels;
    }

    public static MeasuredLevel Measured(LevelResult r, double? gpuMemory, double? gpuUtilization) =>
        new(r.Level, r.InferencesPerSecond, r.RequestsPerSecond, r.Latency.P50Us, r.Latency.P90Us, r.Latency.P99Us, r.Successes, r.ErrorCount,
            r.Stable, r.Server?.QueueUs, r.Server?.ComputeInferUs, r.Server?.AverageBatchSize, gpuUtilization, gpuMemory);
}
