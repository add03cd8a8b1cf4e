using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos.Onnx;
using Inference.Tests.EndToEnd;
using Microsoft.ML.OnnxRuntime;

namespace Inference.Tests.ModelTools;

/// <summary>The only tests that touch the full ResNet-50; the model is generated once for the class.</summary>
public sealed class ResNet50Tests(ResNet50Fixture fixture) : IClassFixture<ResNet50Fixture>
{
    [Fact]
    public void ResNet50_HasTorchvisionParameterCountAndExpectedSignatureAndRuns()
    {
        var graph = ResNetBuilder.Build(ResNetOptions.ResNet50, out var built);
        Assert.Equal(25_557_032, built.ReferenceParameterCount); // torchvision resnet50, batch norm unfolded
        Assert.Equal(25_530_472, built.FileParameterCount);      // BN folded: one bias per conv channel
        Assert.Equal(built.FileParameterCount, graph.ParameterCount);

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture.ModelPath));
        Assert.Equal(built.FileParameterCount, model.Graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (p, d) => p * d)));

        var signature = OnnxSignatureReader.Read(fixture.ModelPath);
        var input = Assert.Single(signature.Inputs);
        var output = Assert.Single(signature.Outputs);
        Assert.Equal(("input", DataType.Fp32), (input.Name, input.DataType));
        Assert.Equal([-1, 3, 224, 224], input.Shape);
        Assert.Equal(("logits", DataType.Fp32), (output.Name, output.DataType));
        Assert.Equal([-1, 1000], output.Shape);

        using var session = new InferenceSession(fixture.ModelPath);
        var a = ResNetBuilderTests.Run(session, ResNetBuilderTests.Image(1, 224, 1), 1, 224);
        var b = ResNetBuilderTests.Run(session, ResNetBuilderTests.Image(1, 224, 2), 1, 224);
        Assert.Equal(1000, a.Length);
        Assert.All(a, v => Assert.True(float.IsFinite(v)));
        Assert.All(b, v => Assert.True(float.IsFinite(v)));
        Assert.True(a.Zip(b).Max(p => MathF.Abs(p.First - p.Second)) > 1e-3f, "logits do not depend on the input");
        Assert.True(a.Max() - a.Min() > 1e-3f, "logits are constant across classes");
    }

    [Fact]
    public void EnsureCreated_SecondCall_ReusesTheRepositoryUnchanged()
    {
        Assert.True(fixture.GenerationTime < TimeSpan.FromSeconds(60), $"generation took {fixture.GenerationTime}");
        var modelWritten = File.GetLastWriteTimeUtc(fixture.ModelPath);

        var again = DefaultModelRepository.EnsureCreated(fixture.CacheRoot);

        Assert.Equal(fixture.RepositoryPath, again);
        Assert.Equal(modelWritten, File.GetLastWriteTimeUtc(fixture.ModelPath));
        Assert.Equal(["model-repository"], Directory.GetFileSystemEntries(fixture.CacheRoot).Select(Path.GetFileName));
        var model = Path.Combine(again, "resnet50");
        Assert.True(File.Exists(Path.Combine(model, "config.pbtxt")));
        var labels = File.ReadAllLines(Path.Combine(model, "labels.txt"));
        Assert.Equal(1000, labels.Length);
        Assert.Equal("class_0007", labels[7]);

        var config = File.ReadAllText(Path.Combine(model, "config.pbtxt"));
        Assert.Contains("name: \"resnet50\"", config);
        Assert.Contains("platform: \"onnxruntime_onnx\"", config);
        Assert.Contains("max_batch_size: 64", config);
        Assert.Contains("dims: [ 3, 224, 224 ]", config);
        Assert.Contains("label_filename: \"labels.txt\"", config);
        Assert.Contains("kind: KIND_CPU", config);
        Assert.Contains("preferred_batch_size: [ 8, 16 ]", config);
        Assert.Contains("max_queue_delay_microseconds: 2000", config);

        var gpu = File.ReadAllText(Path.Combine(model, "configs", "gpu.pbtxt"));
        Assert.Equal(config.Replace("count: 2\n    kind: KIND_CPU", "count: 1\n    kind: KIND_GPU", StringComparison.Ordinal), gpu);
    }

    /// <summary>The AppHost's GPU mode (<c>--model-config-name=gpu</c>) on a machine where CUDA cannot be used: the
    /// real server on the default repository refuses the KIND_GPU ResNet-50, names the missing library, and stays
    /// not ready; no silent CPU fallback.</summary>
    [Fact]
    public async Task Server_WithGpuConfigName_WithoutCuda_LeavesResNet50UnavailableNamingTheMissingLibrary()
    {
        Assert.SkipWhen(GpuProbe.Available, "a CUDA GPU is usable on this machine");
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ServerHost.StartAsync(fixture.RepositoryPath, "--model-config-name=" + DefaultModelRepository.GpuConfigName);

        using var index = await server.Http.PostAsync("/v2/repository/index", null, ct);
        var row = System.Text.Json.Nodes.JsonNode.Parse(await index.Content.ReadAsStringAsync(ct))!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "resnet50")!;
        using var ready = await server.Http.GetAsync("/v2/health/ready", ct);

        Assert.Equal(("resnet50", "UNAVAILABLE"), (row["name"]!.GetValue<string>(), row["state"]!.GetValue<string>()));
        var reason = row["reason"]!.GetValue<string>();
        Assert.Contains("instance_group 'resnet50_0' is KIND_GPU: CUDA execution provider not available", reason, StringComparison.Ordinal);
        Assert.Matches(@"missing library: lib[\w.+-]+\.so", reason);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, ready.StatusCode);
    }
}
