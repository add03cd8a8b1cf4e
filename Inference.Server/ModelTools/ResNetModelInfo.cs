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
    int NodeCount)
{
    /// <summary>One line for the <c>build-resnet50</c> verb: the shape and the counts a reader compares with torchvision.</summary>
    public string Summary =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"ResNet v1.5, blocks [{string.Join(", ", Options.Blocks)}], base width {Options.BaseWidth}, {Options.ImageSize}x{Options.ImageSize} input '{Options.InputName}', " +
            $"{Options.NumClasses} classes out '{Options.OutputName}', seed {Options.Seed}; {ConvolutionCount} convolutions, {NodeCount} nodes, " +
            $"{FileParameterCount:N0} parameters in the file ({ReferenceParameterCount:N0} before batch norm folding)");
}
