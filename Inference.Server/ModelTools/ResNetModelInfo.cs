namespace Inference.Server.ModelTools;

/// <summary>What <see cref="ResNetBuilder"/> produced.</summary>
/// <param name="FileParameterCount">Elements stored in the file's initializers: conv weights, one bias per conv
/// output channel (batch norm folded in, as eval-mode exporters do) and the FC weight and bias.</param>
/// <param name="ReferenceParameterCount">The count torchvision reports for the unfolded network: conv weights,
/// batch-norm scale and shift per channel, FC weight and bias (25,557,032 for ResNet-50).</param>
public sealed record ResNetModelInfo(
    ResNetOptions Options,
    long FileParameterCount,
    long ReferenceParameterCount,
    int ConvolutionCount,
    int NodeCount);
