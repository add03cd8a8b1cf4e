using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>The image ensemble the default repository ships (<see cref="ImageEnsembleWriter"/>), here over the small
/// ResNet: UINT8 HWC images preprocessed on the server give the logits of client-side preprocessing plus the classifier,
/// and a classification of the ensemble's output uses the classifier's labels.</summary>
public sealed class ImageEnsembleEndToEndTests : IDisposable
{
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task ServerSidePreprocessing_MatchesClientPreprocessing()
    {
        var options = ResNetOptions.Tiny;
        DefaultModelRepository.WriteSmallModel(_repository.Path, "resnet_tiny", maxBatchSize: 8);
        ImageEnsembleWriter.Write(_repository.Path, "tiny_image", "resnet_tiny", options, maxBatchSize: 8);
        await using var server = await ServerHost.StartAsync(_repository.Path);

        var size = options.ImageSize;
        var pixels = new byte[2 * size * size * 3];
        new Random(11).NextBytes(pixels);
        var image = new ModelInferRequest { ModelName = "tiny_image" };
        image.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = ImageEnsembleWriter.ImageInputName, Datatype = "UINT8", Shape = { 2, size, size, 3 } });
        image.RawInputContents.Add(ByteString.CopyFrom(pixels));
        var ensemble = await server.Grpc.ModelInferAsync(image, cancellationToken: Ct);

        var chw = new float[pixels.Length];
        var one = size * size * 3;
        for (var i = 0; i < 2; i++)
        {
            PixelNormalization.ImageNet.ToChw(pixels.AsSpan(i * one, one), chw.AsSpan(i * one, one));
        }
        var direct = await server.Grpc.ModelInferAsync(E2E.RawRequest("resnet_tiny", options.InputName, [2, 3, size, size], chw), cancellationToken: Ct);

        Assert.Equal(("tiny_image", options.OutputName), (ensemble.ModelName, Assert.Single(ensemble.Outputs).Name));
        Assert.Equal([2L, options.NumClasses], ensemble.Outputs[0].Shape);
        var expected = E2E.Floats(direct.RawOutputContents[0]);
        var actual = E2E.Floats(ensemble.RawOutputContents[0]);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-3f);
        }

        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = ImageEnsembleWriter.ImageInputName, ["datatype"] = "UINT8", ["shape"] = new JsonArray(1, size, size, 3),
                ["data"] = new JsonArray([.. pixels.Take(one).Select(b => (JsonNode)(int)b)]),
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = options.OutputName, ["parameters"] = new JsonObject { ["classification"] = 2 } }),
        };
        using var response = await server.Http.PostAsync("/v2/models/tiny_image/infer", Kserve.Json(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var top = JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray();
        var best = E2E.Top(expected[..options.NumClasses], 2);
        Assert.Equal(2, top.Length);
        Assert.EndsWith($":{best[0].Index}:{DefaultModelRepository.SyntheticLabel(best[0].Index)}", top[0], StringComparison.Ordinal);
    }
}
