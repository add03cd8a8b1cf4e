using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools;

/// <summary>
/// Builds ResNet v1.5 (torchvision's resnet50 topology) as an ONNX graph with deterministic synthetic weights:
/// stem Conv7×7/2 + ReLU + MaxPool3×3/2; bottlenecks (1×1, 3×3 with the stage's stride, 1×1 ×4) with
/// projection shortcuts where shape changes; GlobalAveragePool, Flatten, Gemm. Batch norm is folded into the
/// convolutions (each conv has a bias), as eval-mode exports do. Weights are He-uniform; the last conv of each
/// residual branch is scaled down so activations stay in a moderate range through all blocks, and logits
/// depend on the input.
/// </summary>
public static class ResNetBuilder
{
    public const int Expansion = 4;

    /// <summary>Scale of the last conv of each residual branch relative to He initialisation.</summary>
    private const float ResidualBranchGain = 0.2f;

    /// <summary>Bound of the folded batch-norm shift (conv bias).</summary>
    private const float BiasBound = 0.05f;

    /// <summary>Writes the model atomically to <paramref name="path"/>.</summary>
    public static ResNetModelInfo Write(string path, ResNetOptions options)
    {
        var graph = Build(options, out var info);
        graph.Save(path);
        return info;
    }

    public static OnnxGraphBuilder Build(ResNetOptions options, out ResNetModelInfo info)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BaseWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.NumClasses, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ImageSize, 32);

        var state = new BuildState(new OnnxGraphBuilder("resnet"), options.Seed);
        var g = state.Graph;
        g.AddInput(options.InputName, TensorProto.Types.DataType.Float, "batch", 3, options.ImageSize, options.ImageSize);
        g.AddOutput(options.OutputName, TensorProto.Types.DataType.Float, "batch", options.NumClasses);

        var x = state.Conv("conv1", options.InputName, 3, options.BaseWidth, kernel: 7, stride: 2, gain: 1f);
        x = g.AddNode("Relu", [x], ["relu1"]);
        x = g.AddNode("MaxPool", [x], ["maxpool"], null,
            OnnxAttributes.Ints("kernel_shape", 3, 3), OnnxAttributes.Ints("strides", 2, 2), OnnxAttributes.Ints("pads", 1, 1, 1, 1));

        var inChannels = options.BaseWidth;
        for (var stage = 0; stage < options.Blocks.Count; stage++)
        {
            var width = options.BaseWidth << stage;
            for (var block = 0; block < options.Blocks[stage]; block++)
            {
                var stride = stage > 0 && block == 0 ? 2 : 1;
                x = state.Bottleneck($"layer{stage + 1}.{block}", x, inChannels, width, stride);
                inChannels = width * Expansion;
            }
        }

        x = g.AddNode("GlobalAveragePool", [x], ["pool"]);
        x = g.AddNode("Flatten", [x], ["flatten"], null, OnnxAttributes.Int("axis", 1));
        var fcBound = 1f / MathF.Sqrt(inChannels);
        var fcWeight = state.Initializer("fc.weight", [options.NumClasses, inChannels], fcBound);
        var fcBias = state.Initializer("fc.bias", [options.NumClasses], fcBound);
        g.AddNode("Gemm", [x, fcWeight, fcBias], [options.OutputName], "fc", OnnxAttributes.Int("transB", 1));
        state.ReferenceParameters += (long)options.NumClasses * inChannels + options.NumClasses;

        info = new ResNetModelInfo(options, g.ParameterCount, state.ReferenceParameters, state.ConvolutionCount, g.Nodes.Count);
        return g;
    }

    private sealed class BuildState(OnnxGraphBuilder graph, ulong seed)
    {
        private ulong _tensorIndex;

        public OnnxGraphBuilder Graph { get; } = graph;

        public long ReferenceParameters { get; set; }

        public int ConvolutionCount { get; private set; }

        public string Bottleneck(string name, string input, int inChannels, int width, int stride)
        {
            var outChannels = width * Expansion;
            var y = Conv($"{name}.conv1", input, inChannels, width, kernel: 1, stride: 1, gain: 1f);
            y = Graph.AddNode("Relu", [y], [$"{name}.relu1"]);
            y = Conv($"{name}.conv2", y, width, width, kernel: 3, stride: stride, gain: 1f);
            y = Graph.AddNode("Relu", [y], [$"{name}.relu2"]);
            y = Conv($"{name}.conv3", y, width, outChannels, kernel: 1, stride: 1, gain: ResidualBranchGain);

            var shortcut = input;
            if (stride != 1 || inChannels != outChannels)
            {
                shortcut = Conv($"{name}.downsample", input, inChannels, outChannels, kernel: 1, stride: stride, gain: 1f);
            }
            var sum = Graph.AddNode("Add", [y, shortcut], [$"{name}.add"]);
            return Graph.AddNode("Relu", [sum], [$"{name}.out"]);
        }

        public string Conv(string name, string input, int inChannels, int outChannels, int kernel, int stride, float gain)
        {
            long fanIn = (long)inChannels * kernel * kernel;
            var weight = Initializer($"{name}.weight", [outChannels, inChannels, kernel, kernel], gain * MathF.Sqrt(6f / fanIn));
            var bias = Initializer($"{name}.bias", [outChannels], BiasBound);
            var pad = kernel / 2;
            ConvolutionCount++;
            // Unfolded: conv weight (no bias) + batch-norm scale and shift.
            ReferenceParameters += (long)outChannels * fanIn + 2L * outChannels;
            return Graph.AddNode("Conv", [input, weight, bias], [name], name,
                OnnxAttributes.Ints("kernel_shape", kernel, kernel),
                OnnxAttributes.Ints("strides", stride, stride),
                OnnxAttributes.Ints("pads", pad, pad, pad, pad));
        }

        public string Initializer(string name, long[] dims, float bound)
        {
            var tensorSeed = DeterministicRandom.DeriveSeed(seed, _tensorIndex++);
            return Graph.AddInitializer(name, dims, values => new DeterministicRandom(tensorSeed).FillUniform(values, bound));
        }
    }
}
