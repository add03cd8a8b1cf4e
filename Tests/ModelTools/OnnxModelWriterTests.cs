using System.Runtime.InteropServices;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Inference.Tests.ModelTools;

public sealed class OnnxModelWriterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static OnnxGraphBuilder AddBiasGraph()
    {
        var g = new OnnxGraphBuilder("add_bias");
        g.AddInput("x", TensorProto.Types.DataType.Float, "batch", 3);
        g.AddOutput("y", TensorProto.Types.DataType.Float, "batch", 3);
        var bias = g.AddInitializer("bias", [3], v => { v[0] = 1f; v[1] = -2f; v[2] = 0.5f; });
        g.AddNode("Add", ["x", bias], ["y"], "add");
        return g;
    }

    [Fact]
    public void Save_WritesModelProtoWithOurHeaderAndRawLittleEndianInitializers()
    {
        var path = _temp.Combine("m.onnx");
        AddBiasGraph().Save(path);

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(8, model.IrVersion);
        Assert.Equal("aspire-inference", model.ProducerName);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal(("", 17L), (opset.Domain, opset.Version));

        var init = Assert.Single(model.Graph.Initializer);
        Assert.Equal("bias", init.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, init.DataType);
        Assert.Equal([3L], init.Dims);
        Assert.Equal([1f, -2f, 0.5f], MemoryMarshal.Cast<byte, float>(init.RawData.Span).ToArray());

        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(3, input.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal("Add", Assert.Single(model.Graph.Node).OpType);
    }

    [Fact]
    public void Save_ModelRunsInOnnxRuntimeWithAnyBatchSize()
    {
        var path = _temp.Combine("m.onnx");
        AddBiasGraph().Save(path);

        using var session = new InferenceSession(path);
        using var x = OrtValue.CreateTensorValueFromMemory(new float[] { 1, 1, 1, 2, 2, 2 }, [2, 3]);
        using var results = session.Run(new RunOptions(), ["x"], [x], ["y"]);
        Assert.Equal([2f, -1f, 1.5f, 3f, 0f, 2.5f], results[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void Save_LeavesNoTemporaryFileAndReplacesAnExistingFile()
    {
        var path = _temp.Combine("sub", "m.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "old");

        AddBiasGraph().Save(path);

        Assert.Equal(["m.onnx"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
        Assert.NotEqual("old", File.ReadAllText(path));
    }

    [Fact]
    public void AddNode_WritesAttributesWithTypeDiscriminators()
    {
        var g = new OnnxGraphBuilder("attrs");
        g.AddInput("x", TensorProto.Types.DataType.Float, 1);
        g.AddOutput("y", TensorProto.Types.DataType.Float, 1);
        g.AddNode("Custom", ["x"], ["y"], "n",
            OnnxAttributes.Int("i", 7), OnnxAttributes.Ints("is", 1, 2), OnnxAttributes.Float("f", 0.25f), OnnxAttributes.String("s", "hi"));
        var path = _temp.Combine("a.onnx");
        g.Save(path);

        var node = Assert.Single(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node);
        var a = node.Attribute.ToDictionary(x => x.Name);
        Assert.Equal((AttributeProto.Types.AttributeType.Int, 7L), (a["i"].Type, a["i"].I));
        Assert.Equal(AttributeProto.Types.AttributeType.Ints, a["is"].Type);
        Assert.Equal([1L, 2L], a["is"].Ints);
        Assert.Equal((AttributeProto.Types.AttributeType.Float, 0.25f), (a["f"].Type, a["f"].F));
        Assert.Equal((AttributeProto.Types.AttributeType.String, "hi"), (a["s"].Type, a["s"].S.ToStringUtf8()));
    }

    [Fact]
    public void AddInitializer_DuplicateName_Throws()
    {
        var g = new OnnxGraphBuilder("g");
        g.AddInitializer("w", [1], v => v[0] = 1);
        Assert.Throws<ArgumentException>(() => g.AddInitializer("w", [1], v => v[0] = 2));
    }
}
