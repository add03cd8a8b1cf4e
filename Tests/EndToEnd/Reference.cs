using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Inference.Tests.EndToEnd;

/// <summary>The expected answer: the same model run directly through a plain ONNX Runtime session.</summary>
internal static class Reference
{
    public static float[] Run(string modelPath, string input, long[] shape, float[] data, string output)
    {
        using var session = new InferenceSession(modelPath);
        using var value = OrtValue.CreateTensorValueFromMemory(data, shape);
        using var results = session.Run(new RunOptions(), [input], [value], [output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static void AssertClose(float[] expected, ReadOnlySpan<float> actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
