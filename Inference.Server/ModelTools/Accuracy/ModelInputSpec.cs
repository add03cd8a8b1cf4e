using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Accuracy;

/// <summary>The single input and first output the model tools feed and compare. <see cref="Dims"/> has -1 for
/// symbolic or unknown dimensions; <see cref="SampleDims"/> drops the leading batch dimension.</summary>
public sealed record ModelInputSpec(string InputName, ElementType InputType, long[] Dims, string OutputName)
{
    public long[] SampleDims => Dims[1..];

    public long SampleElementCount => SampleDims.Aggregate(1L, (p, d) => p * d);

    /// <summary>True for [batch, 3, H, W] with fixed H and W: an image classifier or featurizer input.</summary>
    public bool IsNchwImage => Dims.Length == 4 && Dims[1] == 3 && Dims[2] > 0 && Dims[3] > 0;

    /// <summary>The shape of a batch of one sample.</summary>
    public long[] SingleSampleShape => [1, .. SampleDims];

    public static ModelInputSpec From(ModelProto model)
    {
        var graph = model.Graph;
        if (graph.Input.Count != 1)
        {
            throw new ModelToolException($"The model tools handle models with exactly one input; this one has {graph.Input.Count} ({string.Join(", ", graph.Input.Select(i => i.Name))}).");
        }
        if (graph.Output.Count == 0)
        {
            throw new ModelToolException("The model has no outputs.");
        }
        var input = graph.Input[0];
        var tensor = input.Type?.TensorType ?? throw new ModelToolException($"Input '{input.Name}' is not a tensor.");
        var dims = tensor.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray()
            ?? throw new ModelToolException($"Input '{input.Name}' has no shape.");
        if (dims.Length == 0 || dims[1..].Any(d => d <= 0))
        {
            throw new ModelToolException($"Input '{input.Name}' needs a batch dimension followed by fixed dimensions; it has [{string.Join(", ", dims)}].");
        }
        return new ModelInputSpec(input.Name, (ElementType)tensor.ElemType, dims, graph.Output[0].Name);
    }
}
