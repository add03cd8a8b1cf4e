using Inference.Server.Protos;
using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

/// <summary>Configs, spaces and synthetic results for the tune's pure tests.</summary>
internal static class TuneTestData
{
    /// <summary>A completed config of a batching FP32 model (INPUT0/OUTPUT0 [16], max_batch_size 8), as the
    /// server's auto-complete leaves it.</summary>
    public static ModelConfig BaseConfig(string name = "m_fp32")
    {
        var config = new ModelConfig { Name = name, Platform = "onnxruntime_onnx", Backend = "onnxruntime", MaxBatchSize = 8 };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = Inference.Server.Protos.DataType.TypeFp32, Dims = { 16 } });
        config.Output.Add(new Inference.Server.Protos.ModelOutput { Name = "OUTPUT0", DataType = Inference.Server.Protos.DataType.TypeFp32, Dims = { 16 } });
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 1, Kind = ModelInstanceGroup.Types.Kind.Cpu });
        return config;
    }

    public static TuneSpace Space(string precisions = "fp32,fp16", string[]? accelerators = null, string[]? graphs = null, string instances = "1,2",
        string delays = "off,0", string[]? preferred = null, int maxBatchSize = 8) =>
        SpaceOptions.Parse([precisions], accelerators ?? ["cpu"], graphs ?? ["off"], instances, delays, preferred ?? ["none"], maxBatchSize);

    public static MeasuredLevel Level(double concurrency, double inferencesPerSecond, double p99Us, long errors = 0) =>
        new(concurrency, inferencesPerSecond, inferencesPerSecond, p99Us / 2, p99Us * 0.9, p99Us, 100, errors, true, null, null, null, null, null);

    public static PointResult Measured(int order, TunePoint point, params MeasuredLevel[] levels) =>
        new(order, point.Key, point, "test", PointStatus.Measured, null, null, levels, null, "");

    /// <summary>Runs the planner to the end against <paramref name="measure"/> (a synthetic server), returning the
    /// results in the order the planner asked for them.</summary>
    public static List<PointResult> Walk(TuneSpace space, TuneGoal goal, Func<TunePoint, MeasuredLevel[]> measure, int maxPoints = 100, int combineTop = 2,
        List<PointResult>? start = null)
    {
        var results = start ?? [];
        while (TunePlanner.Next(space, goal, results.ToDictionary(r => r.Key), maxPoints, combineTop) is { Next: { } next } step)
        {
            results.Add(Measured(results.Count, next, measure(next)) with { Stage = step.Stage! });
        }
        return results;
    }
}
