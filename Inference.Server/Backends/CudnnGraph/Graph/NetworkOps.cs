using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.Backends.CudnnGraph.Graph;

/// <summary>
/// The operations the engine takes, as imported from ONNX (<see cref="Import.OnnxNetworkImporter"/>): each names
/// the tensors it reads and the one it writes. Weights are FP32 in ONNX's own layouts (OIHW for convolutions,
/// [out, in] for the final layer) whatever the model stored; the engine converts them to its own.
/// </summary>
public abstract record NetworkOp(string Name, IReadOnlyList<string> Inputs, string Output)
{
    /// <summary>The ONNX operator(s) this stands for, for messages.</summary>
    public abstract string Kind { get; }
}

/// <summary>A 2-D convolution (group 1) with its bias (zeros when the model had none).</summary>
public sealed record ConvOp(string Name, string Input, string Output, ConvGeometry Geometry, float[] Weight, float[] Bias)
    : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Conv";
}

/// <summary>Kernel, strides, padding (top, left, bottom, right) and dilations of a convolution.</summary>
public sealed record ConvGeometry(int InChannels, int OutChannels, int KernelH, int KernelW, int StrideH, int StrideW,
    int PadTop, int PadLeft, int PadBottom, int PadRight, int DilationH, int DilationW)
{
    public int OutputHeight(int height) => (height + PadTop + PadBottom - (DilationH * (KernelH - 1) + 1)) / StrideH + 1;

    public int OutputWidth(int width) => (width + PadLeft + PadRight - (DilationW * (KernelW - 1) + 1)) / StrideW + 1;
}

/// <summary>max(x, 0).</summary>
public sealed record ReluOp(string Name, string Input, string Output) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Relu";
}

/// <summary>The element-wise sum of two activations of one shape (a residual connection).</summary>
public sealed record AddOp(string Name, string A, string B, string Output) : NetworkOp(Name, [A, B], Output)
{
    public override string Kind => "Add";
}

/// <summary>y = x * Scale[c] + Shift[c] along the first per-sample dimension (channels, or features): a
/// BatchNormalization in inference, or a Mul / Add by a constant per channel or a scalar (one value, broadcast).</summary>
public sealed record ChannelAffineOp(string Name, string Input, string Output, float[] Scale, float[] Shift) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Mul/Add/BatchNormalization";
}

/// <summary>Max pooling over windows of the image dimensions; padded cells never win.</summary>
public sealed record MaxPoolOp(string Name, string Input, string Output, PoolGeometry Geometry) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "MaxPool";
}

/// <summary>Window, strides and padding (top, left, bottom, right) of a pooling.</summary>
public sealed record PoolGeometry(int KernelH, int KernelW, int StrideH, int StrideW, int PadTop, int PadLeft, int PadBottom, int PadRight)
{
    public int OutputHeight(int height) => (height + PadTop + PadBottom - KernelH) / StrideH + 1;

    public int OutputWidth(int width) => (width + PadLeft + PadRight - KernelW) / StrideW + 1;
}

/// <summary>The mean over the image dimensions: [C, H, W] to [C, 1, 1], or to [C] when <paramref name="KeepDims"/> is false.</summary>
public sealed record GlobalAveragePoolOp(string Name, string Input, string Output, bool KeepDims) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "GlobalAveragePool";
}

/// <summary>Per-sample dimensions into one: [C, 1, 1] to [C].</summary>
public sealed record FlattenOp(string Name, string Input, string Output) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Flatten";
}

/// <summary>y = x W^T + b for features: <see cref="Weight"/> is [OutFeatures, InFeatures].</summary>
public sealed record GemmOp(string Name, string Input, string Output, int InFeatures, int OutFeatures, float[] Weight, float[] Bias)
    : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Gemm";
}

/// <summary>A change of element type (UINT8 pixels to floats, FP32 to FP16 and back at the model's edges).</summary>
public sealed record CastOp(string Name, string Input, string Output, ElementType To) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Cast";
}

/// <summary>NHWC to NCHW ([H, W, C] to [C, H, W] per sample): the only permutation the engine takes.</summary>
public sealed record NhwcToNchwOp(string Name, string Input, string Output) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "Transpose";
}

/// <summary>ONNX QuantizeLinear of an activation, per tensor: q = saturate(round_half_even(x / Scale) + ZeroPoint) in
/// <see cref="To"/> (INT8 or UINT8).</summary>
public sealed record QuantizeOp(string Name, string Input, string Output, float Scale, int ZeroPoint, ElementType To) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "QuantizeLinear";
}

/// <summary>ONNX DequantizeLinear of an activation, per tensor: x = (q - ZeroPoint) * Scale.</summary>
public sealed record DequantizeOp(string Name, string Input, string Output, float Scale, int ZeroPoint) : NetworkOp(Name, [Input], Output)
{
    public override string Kind => "DequantizeLinear";
}
