using System.Diagnostics;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Microsoft.ML.OnnxRuntime;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools;

/// <summary>Engine-only throughput of a model on ONNX Runtime's CPU provider (like trtexec's timing loop): one
/// session, a fixed random batch bound once, runs back to back for a set time after warm-up.</summary>
public static class ModelBenchmark
{
    public sealed record Result(string Model, int Batch, int Runs, double Seconds, int IntraOpThreads)
    {
        public double ImagesPerSecond => Runs * Batch / Seconds;

        public double MillisecondsPerBatch => Seconds * 1000 / Runs;

        public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Model}: batch {Batch}, {Runs} runs in {Seconds:F1} s, {ImagesPerSecond:F1} images/s, {MillisecondsPerBatch:F2} ms/batch, intra-op threads {(IntraOpThreads == 0 ? "default" : IntraOpThreads)}");
    }

    public static Result Run(string modelPath, int batch, TimeSpan duration, TimeSpan warmup, int intraOpThreads = 0, string? optimizedModelPath = null)
    {
        var spec = ModelInputSpec.From(OnnxModelFile.Load(modelPath));
        long[] shape = [batch, .. spec.SampleDims];
        var count = (int)(batch * spec.SampleElementCount);
        var random = new DeterministicRandom(42);
        using var session = OnnxRunner.CreateSession(modelPath, intraOpThreads, optimizedModelPath);
        using var input = spec.InputType == ElementType.Uint8
            ? OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, count).Select(_ => (byte)(random.NextUInt64() >> 56)).ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray(), shape);
        using var runOptions = new RunOptions();
        string[] inputs = [spec.InputName];
        string[] outputs = [spec.OutputName];
        void Once()
        {
            using var results = session.Run(runOptions, inputs, [input], outputs);
        }
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < warmup)
        {
            Once();
        }
        var runs = 0;
        clock.Restart();
        while (clock.Elapsed < duration || runs == 0)
        {
            Once();
            runs++;
        }
        return new Result(modelPath, batch, runs, clock.Elapsed.TotalSeconds, intraOpThreads);
    }
}
