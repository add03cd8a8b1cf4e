using Inference.Server.Backends.CudnnGraph.Fusion;
using Inference.Server.Backends.CudnnGraph.Import;
using Inference.Server.Backends.CudnnGraph.Planning;
using Inference.Server.ModelTools.Onnx;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Backends.CudnnGraph;

public sealed class ActivationLifetimesTests
{
    [Fact]
    public void TinyResNet_LifetimesFollowTheSteps_KeepEachResidualUntilItsBlock_AndTheArenaReusesMemory()
    {
        using var temp = new TempDirectory();
        var network = FusionPlanner.Plan(OnnxNetworkImporter.Import(OnnxModelFile.Load(ModelToolsTestModels.WriteTinyResNet(temp))).Graph!);
        const int batch = 4;

        var names = ActivationLifetimes.Names(network);
        var lifetimes = ActivationLifetimes.For(network, batch);

        Assert.Equal(1 + network.Steps.Count, names.Count);
        Assert.Equal(names.Count, lifetimes.Count);
        var byName = names.Select((n, i) => (n, lifetimes[i])).ToDictionary(p => p.n, p => p.Item2);
        // The FP32 input at its wire size from step 0; the FP32 logits kept to the end.
        var input = network.Inputs[0];
        Assert.Equal((0, batch * 3L * 64 * 64 * 4), (byName[input.Name].FirstStep, byName[input.Name].SizeBytes));
        var output = network.Outputs[0];
        Assert.Equal((network.Steps.Count - 1, batch * 10L * 4), (byName[output.Name].LastStep, byName[output.Name].SizeBytes));
        // The stem's output: FP16, 4 channels padded to 8, 32x32, batch 4.
        Assert.Equal(batch * 8L * 32 * 32 * 2, byName[network.Steps[0].Output].SizeBytes);
        // A residual is read by the block that ends the bottleneck, after it was written: the identity shortcuts (12 of
        // the 16) span the bottleneck's three steps, the 4 downsample branches run just before the block that adds them.
        var spans = new List<int>();
        for (var i = 0; i < network.Steps.Count; i++)
        {
            if (network.Steps[i] is ConvBlockStep { Residual: { } residual })
            {
                Assert.Equal(i, byName[residual].LastStep);
                spans.Add(i - byName[residual].FirstStep);
            }
        }
        Assert.Equal(12, spans.Count(s => s >= 3));
        Assert.Equal(4, spans.Count(s => s == 1));

        var plan = MemoryPlanner.Plan(lifetimes);
        var total = lifetimes.Sum(l => l.SizeBytes);
        // Memory is reused (the arena is well under the sum), and the greedy placement stays near the lower bound.
        Assert.True(plan.ArenaBytes < total / 2, $"arena {plan.ArenaBytes} B for {total} B of tensors: no reuse");
        Assert.True(plan.ArenaBytes <= plan.PeakLiveBytes * 5 / 4, $"arena {plan.ArenaBytes} B against a peak of {plan.PeakLiveBytes} B live");
    }
}
