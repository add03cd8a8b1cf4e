using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Tests.ModelTools;
using static Inference.Tests.Backends.TestModels;

namespace Inference.Tests.Backends;

public sealed class OnnxSignatureReaderTests(TinyResNetFixture fixture) : IClassFixture<TinyResNetFixture>
{
    [Fact]
    public void Read_TinyResNet_GivesInputAndLogitsWithVariableBatch()
    {
        var signature = OnnxSignatureReader.Read(fixture.ModelPath);

        var input = Assert.Single(signature.Inputs);
        var output = Assert.Single(signature.Outputs);
        Assert.Equal(("input", DataType.Fp32), (input.Name, input.DataType));
        Assert.Equal([-1, 3, 64, 64], input.Shape);
        Assert.Equal(("logits", DataType.Fp32), (output.Name, output.DataType));
        Assert.Equal([-1, 10], output.Shape);
    }

    [Fact]
    public void Read_MapsElementTypesAndKeepsFixedDims()
    {
        var path = fixture.Temp.Combine("u16.onnx");
        WriteIdentity(path, DataType.UInt16, 2, "n", 5);

        var input = Assert.Single(OnnxSignatureReader.Read(path).Inputs);

        Assert.Equal(DataType.UInt16, input.DataType);
        Assert.Equal([2, -1, 5], input.Shape);
    }

    [Fact]
    public void TryRead_NotAModel_IsInvalidArgument()
    {
        var path = fixture.Temp.Combine("junk.onnx");
        File.WriteAllText(path, "junk");

        Assert.Equal(ErrorCode.InvalidArgument, OnnxSignatureReader.TryRead(path).Error?.Code);
        Assert.Throws<InvalidDataException>(() => OnnxSignatureReader.Read(path));
    }
}
