using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.Protos.Onnx;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Tests.ModelTools;

/// <summary>Small real models and helpers shared by the model tool tests.</summary>
internal static class ModelToolsTestModels
{
    /// <summary>Writes the tiny ResNet (<see cref="ResNetOptions.Tiny"/>, 64×64 input, 10 classes) and returns its path.</summary>
    public static string WriteTinyResNet(TempDirectory temp, string name = "tiny.onnx")
    {
        var path = temp.Combine(name);
        ResNetBuilder.Write(path, ResNetOptions.Tiny);
        return path;
    }

    public static IReadOnlyList<ModelSample> Samples(string modelPath, int count, ulong seed) =>
        ModelSamples.Generated(ModelInputSpec.From(OnnxModelFile.Load(modelPath)), count, seed, PixelNormalization.ImageNet);

    /// <summary>The operator types of the graph ONNX Runtime actually runs after its optimizations.</summary>
    public static HashSet<string> OptimizedOperators(string modelPath, TempDirectory temp)
    {
        var optimized = temp.Combine($"optimized-{Guid.NewGuid():N}.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
        using (new InferenceSession(modelPath, options))
        {
        }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>input [batch, 8] → Gemm (4 outputs) → Softmax → output: a graph with an operator kept in FP32.</summary>
    public static string WriteGemmSoftmax(TempDirectory temp)
    {
        var g = new OnnxGraphBuilder("gemm_softmax");
        g.AddInput("input", TensorProto.Types.DataType.Float, "batch", 8);
        g.AddOutput("probabilities", TensorProto.Types.DataType.Float, "batch", 4);
        g.AddInitializer("w", [4, 8], v => new DeterministicRandom(3).FillUniform(v, 1f));
        g.AddInitializer("b", [4], v => new DeterministicRandom(4).FillUniform(v, 0.5f));
        g.AddNode("Gemm", ["input", "w", "b"], ["logits"], "fc", OnnxAttributes.Int("transB", 1));
        g.AddNode("Softmax", ["logits"], ["probabilities"], "softmax", OnnxAttributes.Int("axis", 1));
        var path = temp.Combine("gemm_softmax.onnx");
        g.Save(path);
        return path;
    }
}
