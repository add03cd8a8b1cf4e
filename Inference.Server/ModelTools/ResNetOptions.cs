namespace Inference.Server.ModelTools;

/// <summary>
/// Shape of a ResNet v1.5 bottleneck network (torchvision's resnet50 family): stem width
/// <see cref="BaseWidth"/>, stage widths BaseWidth×{1,2,4,8} with ×4 expansion, <see cref="Blocks"/>
/// bottlenecks per stage, an FC layer to <see cref="NumClasses"/>, input [batch, 3, ImageSize, ImageSize].
/// Weights are generated from <see cref="Seed"/> (same seed, same file).
/// </summary>
public sealed record ResNetOptions
{
    public int BaseWidth { get; init; } = 64;

    public int NumClasses { get; init; } = 1000;

    public int ImageSize { get; init; } = 224;

    public IReadOnlyList<int> Blocks { get; init; } = [3, 4, 6, 3];

    public ulong Seed { get; init; } = 20240917;

    public string InputName { get; init; } = "input";

    public string OutputName { get; init; } = "logits";

    /// <summary>Channels entering the classifier: BaseWidth × 8 × 4 (2048 for ResNet-50).</summary>
    public int FeatureWidth => BaseWidth * 8 * ResNetBuilder.Expansion;

    /// <summary>torchvision's resnet50: 224×224 input, 1000 classes.</summary>
    public static ResNetOptions ResNet50 { get; } = new();

    /// <summary>The same operators at 1/16 width on 64×64 images with 10 classes: a ~0.4 MB file that runs
    /// in about a millisecond on a CPU, for tests.</summary>
    public static ResNetOptions Tiny { get; } = new() { BaseWidth = 4, NumClasses = 10, ImageSize = 64 };
}
