using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>The default repository (generated full ResNet-50) served by the real server.</summary>
public sealed class ResNet50ServerFixture : IAsyncLifetime
{
    public ResNet50Fixture Repository { get; } = new();

    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerHost.StartAsync(Repository.RepositoryPath);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Repository.Dispose();
    }
}

/// <summary>ResNet-50 at batch 1 over gRPC with raw contents, checked against a direct ONNX Runtime run.</summary>
public sealed class ResNet50EndToEndTests(ResNet50ServerFixture fixture) : IClassFixture<ResNet50ServerFixture>
{
    private static readonly long[] Shape = [1, 3, 224, 224];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Infer_Batch1_LogitsMatchADirectOnnxRuntimeRun()
    {
        var data = Kserve.RandomFloats(3 * 224 * 224, seed: 50);

        var reply = await fixture.Server.Grpc.ModelInferAsync(E2E.RawRequest("resnet50", "input", Shape, data, "logits"), cancellationToken: Ct);

        Assert.Equal(("resnet50", "1"), (reply.ModelName, reply.ModelVersion));
        var output = Assert.Single(reply.Outputs);
        Assert.Equal(("logits", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([1L, 1000], output.Shape);
        var logits = E2E.Floats(reply.RawOutputContents[0]);
        Assert.All(logits, v => Assert.True(float.IsFinite(v), $"logit {v} is not finite"));
        Assert.True(logits.Max() > logits.Min(), "all logits are equal");
        Reference.AssertClose(Reference.Run(fixture.Repository.ModelPath, "input", Shape, data, "logits"), logits, tolerance: 1e-3f);
    }

    [Fact]
    public async Task Classification_Top1LabelIsTheArgmaxOfTheLogits()
    {
        var data = Kserve.RandomFloats(3 * 224 * 224, seed: 51);
        var request = E2E.RawRequest("resnet50", "input", Shape, data, "logits");
        request.Outputs[0].Parameters["classification"] = new InferParameter { Int64Param = 1 };

        var reply = await fixture.Server.Grpc.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal("BYTES", reply.Outputs[0].Datatype);
        var top1 = Assert.Single(E2E.BytesElements(reply.RawOutputContents[0].Span)).Split(':');
        var argmax = E2E.Top(Reference.Run(fixture.Repository.ModelPath, "input", Shape, data, "logits"), 1)[0].Index;
        Assert.Equal(argmax.ToString(System.Globalization.CultureInfo.InvariantCulture), top1[1]);
        Assert.Equal($"class_{argmax:D4}", top1[2]);
    }

    /// <summary>The default repository's ensemble: a UINT8 HWC image through resnet50_preprocess and resnet50 gives the logits of
    /// the client-side preprocessing (the way LoadTest and the docs preprocess) run on resnet50.</summary>
    [Fact]
    public async Task ImageEnsemble_MatchesClientPreprocessingPlusResNet50()
    {
        var pixels = new byte[224 * 224 * 3];
        new Random(52).NextBytes(pixels);
        var request = new ModelInferRequest { ModelName = Inference.Server.ModelTools.DefaultModelRepository.ImageEnsembleName };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "UINT8", Shape = { 1, 224, 224, 3 } });
        request.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(pixels));

        var reply = await fixture.Server.Grpc.ModelInferAsync(request, cancellationToken: Ct);

        Assert.Equal(("resnet50_image", "logits"), (reply.ModelName, Assert.Single(reply.Outputs).Name));
        var chw = new float[pixels.Length];
        Inference.Server.ModelTools.Preprocessing.PixelNormalization.ImageNet.ToChw(pixels, chw);
        Reference.AssertClose(Reference.Run(fixture.Repository.ModelPath, "input", Shape, chw, "logits"), E2E.Floats(reply.RawOutputContents[0]), tolerance: 1e-3f);
    }
}
