using Inference.Server.Protos;
using LoadTest.Load;

namespace LoadTest.Tune;

/// <summary>Where a run writes, what it may reuse, and how to reach or start the server.</summary>
/// <param name="OutputDirectory">The state file, the reports, the best config and (for a started server) the
/// variants' repository, <c>repository/</c>.</param>
/// <param name="Resume">Continue the run whose state file is in the output folder.</param>
/// <param name="ServerRepository">With an attached server: the model repository it serves, where the variants are
/// written.</param>
/// <param name="ServerArgs">Extra options for a started server.</param>
public sealed record TuneRun(string OutputDirectory, bool Resume, Uri? ServerHttp, Uri? ServerGrpc, string? ServerRepository, IReadOnlyList<string> ServerArgs);

/// <summary>What a run ended with: its state, the report files, and whether it was stopped before the search ended.</summary>
public sealed record TuneOutcome(TuneState State, TuneReport Report, IReadOnlyList<string> Files, bool Interrupted);

/// <summary>
/// Runs the search for real: loads or starts the state, builds the precision variants the space names (skipping
/// those the state holds), starts or attaches the server, then measures what <see cref="TunePlanner"/> asks for,
/// one point at a time, saving the state after each; finally writes the reports. Cancellation stops the point being
/// measured (not recorded: a resumed run measures it again) and still writes the reports.
/// Throws <see cref="TuneSetupException"/> when the run cannot start.
/// </summary>
public static class TuneRunner
{
    public static async Task<TuneOutcome> RunAsync(TuneSettings settings, TuneRun run, IProgressSink progress, CancellationToken cancellationToken)
    {
        var state = OpenState(settings, run, progress);
        var repository = run.ServerRepository ?? Path.Combine(run.OutputDirectory, "repository");
        Directory.CreateDirectory(repository);
        var interrupted = false;
        try
        {
            state = BuildVariants(settings, state, repository, run.OutputDirectory, progress, cancellationToken);
            TuneServer? server = null;
            RepositoryClient? client = null;
            var bases = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
            try
            {
                while (true)
                {
                    var step = TunePlanner.Next(settings.Space, settings.Goal, state.ByKey(), settings.MaxConfigs, settings.CombineTop);
                    if (step.Next is not { } point)
                    {
                        progress.Note(step.LimitReached ? $"stopped at --max-configs {settings.MaxConfigs}" : "search complete");
                        break;
                    }
                    // The server starts with the first point to measure (a resumed run with nothing left needs none).
                    server ??= run.ServerHttp is { } http
                        ? TuneServer.Attach(http, run.ServerGrpc ?? http)
                        : await StartServerAsync(repository, run, progress, cancellationToken);
                    client ??= new RepositoryClient(server.HttpAddress);
                    var result = await MeasureAsync(settings, state, point, step.Stage!, repository, bases, server, client, progress, cancellationToken);
                    state = state.With(result);
                    state.Save(run.OutputDirectory);
                    progress.Note($"[{result.Order + 1}] {Describe(settings.Goal, result)}");
                }
            }
            finally
            {
                client?.Dispose();
                if (server is not null)
                {
                    await server.DisposeAsync();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            interrupted = true;
            progress.Note($"stopped; {state.Results.Count} configs are in {TuneState.FileName} (rerun with --resume to continue)");
        }
        var report = TuneReport.Create(settings, state);
        var files = TuneFiles.Write(run.OutputDirectory, report, repository);
        return new TuneOutcome(state, report, files, interrupted);
    }

    private static TuneState OpenState(TuneSettings settings, TuneRun run, IProgressSink progress)
    {
        TuneState? existing;
        try
        {
            existing = TuneState.Load(run.OutputDirectory);
        }
        catch (InvalidDataException e)
        {
            throw new TuneSetupException(e.Message);
        }
        if (existing is null)
        {
            if (run.Resume)
            {
                progress.Note($"nothing to resume in {run.OutputDirectory}; starting a new run");
            }
            var fresh = TuneState.New(settings);
            fresh.Save(run.OutputDirectory);
            return fresh;
        }
        if (!run.Resume)
        {
            throw new TuneSetupException($"{run.OutputDirectory} holds a tune run ({existing.Results.Count} configs measured): pass --resume to continue it, or choose another --output-dir");
        }
        if (!existing.SameSettings(settings))
        {
            throw new TuneSetupException($"{run.OutputDirectory} holds a tune run with other settings (model, search space, goal or measurement); resume it with the same options (only --max-configs may change), or choose another --output-dir");
        }
        progress.Note($"resuming: {existing.Results.Count} configs already measured");
        var resumed = existing.ResumedWith(settings);
        resumed.Save(run.OutputDirectory);
        return resumed;
    }

    private static TuneState BuildVariants(TuneSettings settings, TuneState state, string repository, string outputDirectory, IProgressSink progress,
        CancellationToken cancellationToken)
    {
        foreach (var precision in settings.Space.Precisions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var done = state.Variants.FirstOrDefault(v => v.Precision == precision);
            if (done is not null && (done.Status != PointStatus.Measured || Directory.Exists(Path.Combine(repository, done.ModelName))))
            {
                continue;
            }
            progress.Note($"variant {precision}: building");
            using var log = new StringWriter();
            var variant = ModelVariants.Build(settings.ModelPath, settings.ModelName, precision, repository, settings.Calibration, settings.Goal.MinCosine, log);
            foreach (var line in log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                progress.Note($"  {line}");
            }
            progress.Note($"variant {precision}: " + (variant.Status switch
            {
                PointStatus.Measured => "ready",
                PointStatus.Excluded => "excluded, " + variant.Message,
                _ => "failed, skipped: " + variant.Message,
            }));
            state = state.With(variant);
            state.Save(outputDirectory);
        }
        return state;
    }

    private static async Task<TuneServer> StartServerAsync(string repository, TuneRun run, IProgressSink progress, CancellationToken cancellationToken)
    {
        var log = Path.Combine(run.OutputDirectory, "server.log");
        try
        {
            var server = await TuneServer.StartAsync(repository, run.ServerArgs, log, cancellationToken);
            progress.Note($"server started at {server.HttpAddress} (gRPC {server.GrpcAddress}), log {log}");
            return server;
        }
        catch (InvalidOperationException e)
        {
            throw new TuneSetupException(e.Message);
        }
    }

    private static async Task<PointResult> MeasureAsync(TuneSettings settings, TuneState state, TunePoint point, string stage, string repository,
        Dictionary<string, ModelConfig> bases, TuneServer server, RepositoryClient client, IProgressSink progress, CancellationToken cancellationToken)
    {
        var order = state.Results.Count;
        var pending = new PointResult(order, point.Key, point, stage, PointStatus.Measured, null, null, [], null, "");
        var variant = state.Variants.Single(v => v.Precision == point.Precision);
        if (variant.Status != PointStatus.Measured)
        {
            return pending with { Status = variant.Status, FailedStage = "variant", Message = variant.Message };
        }
        progress.Note($"[{order + 1}] {stage}: {point.Label}");
        if (!bases.TryGetValue(variant.ModelName, out var baseConfig))
        {
            try
            {
                baseConfig = ModelVariants.BaseConfig(repository, variant.ModelName);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                return pending with { Status = PointStatus.Failed, FailedStage = "config", Message = e.Message };
            }
            bases[variant.ModelName] = baseConfig;
        }
        var config = PointConfig.Build(baseConfig, point);
        pending = pending with { ConfigText = Inference.Server.Repository.PbtxtWriter.Write(config) };
        if (PointConfig.Validate(config) is { } invalid)
        {
            return pending with { Status = PointStatus.Failed, FailedStage = "config", Message = invalid };
        }
        return await PointMeasurement.RunAsync(server, client, config, pending, settings.Measure, settings.Goal.MaxP99Ms, progress, cancellationToken);
    }

    /// <summary>One line about a finished point: its operating level, or why it does not count.</summary>
    public static string Describe(TuneGoal goal, PointResult result)
    {
        if (goal.OperatingLevel(result) is { } level)
        {
            return FormattableString.Invariant(
                $"{result.Point.Label}: {level.InferencesPerSecond:F1} infer/s, p99 {level.P99Us / 1000:0.###} ms at concurrency {level.Concurrency:0}");
        }
        return $"{result.Point.Label}: {goal.Infeasibility(result)}";
    }
}

/// <summary>A tune run that cannot start (bad state file, server not starting); the message says what to change.</summary>
public sealed class TuneSetupException(string message) : Exception(message);
