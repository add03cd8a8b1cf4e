using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Server.ModelTools.Accuracy;

/// <summary>Runs ONNX Runtime sessions on the CPU provider for the model tools: one input, named outputs copied
/// out as FP32 arrays. Sessions use all graph optimizations, so QDQ groups fuse into int8 kernels.</summary>
public static class OnnxRunner
{
    /// <summary>A CPU session; <paramref name="optimizedModelPath"/>, when given, receives the graph ONNX Runtime runs
    /// after its optimizations (which kernels the QDQ groups became).</summary>
    public static InferenceSession CreateSession(string modelPath, int intraOpThreads = 0, string? optimizedModelPath = null)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = intraOpThreads };
        if (optimizedModelPath is not null)
        {
            options.OptimizedModelFilePath = optimizedModelPath;
        }
        return new InferenceSession(modelPath, options);
    }

    public static float[] Run(InferenceSession session, string input, float[] data, long[] shape, string output) =>
        Run(session, input, OrtValue.CreateTensorValueFromMemory(data, shape), [output])[0];

    public static float[] Run(InferenceSession session, string input, byte[] data, long[] shape, string output) =>
        Run(session, input, OrtValue.CreateTensorValueFromMemory(data, shape), [output])[0];

    /// <summary>Runs with <paramref name="value"/> (disposed here) and returns each requested output as FP32.</summary>
    public static float[][] Run(InferenceSession session, string input, OrtValue value, IReadOnlyList<string> outputs)
    {
        using (value)
        using (var runOptions = new RunOptions())
        using (var results = session.Run(runOptions, [input], [value], outputs))
        {
            var copies = new float[results.Count][];
            for (var i = 0; i < results.Count; i++)
            {
                copies[i] = results[i].GetTensorDataAsSpan<float>().ToArray();
            }
            return copies;
        }
    }
}
