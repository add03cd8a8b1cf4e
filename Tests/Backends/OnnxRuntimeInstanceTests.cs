using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.ModelTools;
using Inference.Server.Scheduling;
using Inference.Tests.ModelTools;
using Microsoft.ML.OnnxRuntime;
using static Inference.Tests.Backends.TestModels;

namespace Inference.Tests.Backends;

public sealed class OnnxRuntimeInstanceTests(TinyResNetFixture fixture) : IClassFixture<TinyResNetFixture>
{
    private const int Size = 64;
    private const int Classes = 10;

    private IModelInstance CreateTiny(int maxBatchSize = 8, IReadOnlyDictionary<string, string[]>? labels = null)
    {
        var config = Config("resnet_tiny", maxBatchSize,
            ("input", DataType.Fp32, [3, Size, Size], false), ("logits", DataType.Fp32, [Classes], true));
        var result = OnnxRuntimeBackend.CreateInstance("resnet_tiny_0_0", fixture.ModelPath, config,
            OnnxSessionSettings.Default with { IntraOpThreads = 1 }, OnnxDevice.Cpu, modelVersion: 3, labels);
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value!;
    }

    private static InferenceRequest ImageRequest(string id, int rows, int seed) =>
        Request("resnet_tiny", id, rows, Tensor("input", DataType.Fp32, [rows, 3, Size, Size], ResNetBuilderTests.Image(rows, Size, seed)));

    private static InferenceResponse[] Execute(IModelInstance instance, params InferenceRequest[] requests)
    {
        var responses = new InferenceResponse[requests.Length];
        var timings = new ExecutionTimings();
        instance.Execute(requests, responses, ref timings);
        return responses;
    }

    [Fact]
    public void Execute_BatchOfOneTwoOne_EachResponseEqualsThatRequestRunAlone()
    {
        using var instance = CreateTiny();
        using var reference = new InferenceSession(fixture.ModelPath);
        var requests = new[] { ImageRequest("a", 1, 11), ImageRequest("b", 2, 12), ImageRequest("c", 1, 13) };
        var seeds = new[] { 11, 12, 13 };

        var responses = Execute(instance, requests);

        for (var i = 0; i < requests.Length; i++)
        {
            var rows = requests[i].BatchSize;
            var expected = ResNetBuilderTests.Run(reference, ResNetBuilderTests.Image(rows, Size, seeds[i]), rows, Size);
            var response = responses[i];
            Assert.Equal(("resnet_tiny", 3L, requests[i].Id), (response.ModelName, response.ModelVersion, response.Id));
            var logits = Assert.Single(response.Outputs);
            Assert.Equal("logits", logits.Name);
            Assert.Equal(DataType.Fp32, logits.DataType);
            Assert.Equal([rows, Classes], logits.Shape);
            var actual = Values<float>(logits);
            Assert.Equal(expected.Length, actual.Length);
            for (var k = 0; k < expected.Length; k++)
            {
                Assert.True(MathF.Abs(expected[k] - actual[k]) <= 1e-4f, $"request {i} logit {k}: {actual[k]} vs {expected[k]}");
            }
            response.Dispose();
            requests[i].Dispose();
        }
    }

    [Fact]
    public void Execute_FillsAllThreeTimings()
    {
        using var instance = CreateTiny();
        var requests = new[] { ImageRequest("a", 1, 1), ImageRequest("b", 1, 2) };
        var responses = new InferenceResponse[2];
        var timings = new ExecutionTimings();

        instance.Execute(requests, responses, ref timings);

        Assert.True(timings.ComputeInputNs > 0 && timings.ComputeInferNs > 0 && timings.ComputeOutputNs > 0,
            $"{timings.ComputeInputNs} {timings.ComputeInferNs} {timings.ComputeOutputNs}");
        Assert.Equal("cpu", instance.Device);
        Assert.Equal("resnet_tiny_0_0", instance.Name);
    }

    [Fact]
    public void Execute_Classification_ReturnsTopNStringsPerRowMatchingTheRawLogits()
    {
        var labels = Enumerable.Range(0, Classes).Select(DefaultModelRepository.SyntheticLabel).ToArray();
        using var instance = CreateTiny(labels: new Dictionary<string, string[]> { ["logits"] = labels });
        var raw = ImageRequest("raw", 2, 5);
        var classified = ImageRequest("cls", 2, 5);
        classified.Outputs.Add(new RequestedOutput("logits", ClassificationCount: 3));

        var responses = Execute(instance, raw, classified);

        var logits = Values<float>(responses[0].Outputs[0]);
        var tensor = Assert.Single(responses[1].Outputs);
        Assert.Equal(("logits", DataType.Bytes), (tensor.Name, tensor.DataType));
        Assert.Equal([2, 3], tensor.Shape);
        var strings = Strings(tensor);
        for (var row = 0; row < 2; row++)
        {
            var expected = logits.Skip(row * Classes).Take(Classes)
                .Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(3)
                .Select(p => $"{p.v:F6}:{p.i}:class_{p.i:D4}");
            Assert.Equal(expected, strings.Skip(row * 3).Take(3));
        }
    }
}
