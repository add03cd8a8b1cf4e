using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>
/// Puts image preprocessing inside the graph: the variant's input is UINT8 pixels [batch, H, W, 3] (RGB, NHWC,
/// a quarter of the FP32 bytes), followed by Transpose to NCHW (on the bytes), Cast to FP32, and one Mul and one
/// Add per channel that fold scaling and mean/std normalization (<c>x * scale/std - mean/std</c>); their result
/// is the original FP32 input, so the original graph runs unchanged behind it. Works for any model whose single
/// input is [batch, 3, H, W] FP32. The source model is not modified.
/// </summary>
public static class PreprocessingBuilder
{
    public const string DefaultInputName = "pixels";

    public static ModelProto Build(ModelProto source, PixelNormalization normalization, string inputName = DefaultInputName)
    {
        var model = source.Clone();
        var graph = model.Graph;
        var spec = ModelInputSpec.From(model);
        if (!spec.IsNchwImage || spec.InputType != ElementType.Float)
        {
            throw new ModelToolException($"preprocess needs an FP32 [batch, 3, H, W] input; '{spec.InputName}' is {spec.InputType} [{string.Join(", ", spec.Dims)}].");
        }
        var used = OnnxNodes.UsedNames(graph);
        if (used.Contains(inputName))
        {
            throw new ModelToolException($"The model already has a value named '{inputName}'; choose another --input-name.");
        }
        used.Add(inputName);
        var original = graph.Input[0];
        var batch = original.Type.TensorType.Shape.Dim[0].Clone();
        var pixels = new ValueInfoProto
        {
            Name = inputName,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)ElementType.Uint8,
                    Shape = new TensorShapeProto
                    {
                        Dim =
                        {
                            batch,
                            new TensorShapeProto.Types.Dimension { DimValue = spec.Dims[2] },
                            new TensorShapeProto.Types.Dimension { DimValue = spec.Dims[3] },
                            new TensorShapeProto.Types.Dimension { DimValue = 3 },
                        },
                    },
                },
            },
        };

        var multiplier = OnnxNodes.UniqueName(used, "preprocess_multiplier");
        var offset = OnnxNodes.UniqueName(used, "preprocess_offset");
        graph.Initializer.Add(OnnxTensorData.Float(multiplier, [1, 3, 1, 1], [normalization.Multiplier(0), normalization.Multiplier(1), normalization.Multiplier(2)]));
        graph.Initializer.Add(OnnxTensorData.Float(offset, [1, 3, 1, 1], [normalization.Offset(0), normalization.Offset(1), normalization.Offset(2)]));
        var nchw = OnnxNodes.UniqueName(used, inputName + "_nchw");
        var floats = OnnxNodes.UniqueName(used, inputName + "_float");
        var scaled = OnnxNodes.UniqueName(used, inputName + "_scaled");
        NodeProto[] front =
        [
            OnnxNodes.Create("Transpose", OnnxNodes.UniqueName(used, "preprocess_transpose"), [inputName], [nchw], OnnxAttributes.Ints("perm", 0, 3, 1, 2)),
            OnnxNodes.Create("Cast", OnnxNodes.UniqueName(used, "preprocess_cast"), [nchw], [floats], OnnxAttributes.Int("to", (long)ElementType.Float)),
            OnnxNodes.Create("Mul", OnnxNodes.UniqueName(used, "preprocess_scale"), [floats, multiplier], [scaled]),
            OnnxNodes.Create("Add", OnnxNodes.UniqueName(used, "preprocess_normalize"), [scaled, offset], [spec.InputName]),
        ];
        var nodes = front.Concat(graph.Node).ToList();
        graph.Node.Clear();
        graph.Node.Add(nodes);
        graph.Input.Clear();
        graph.Input.Add(pixels);
        graph.ValueInfo.Add(original);
        if (OnnxModelFile.DefaultOpset(model) < 7)
        {
            throw new ModelToolException("preprocess needs opset 7 or later (broadcasting Mul/Add).");
        }
        OnnxModelFile.Stamp(model, "preprocess (UINT8 NHWC input)");
        return model;
    }
}
