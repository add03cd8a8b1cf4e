using LoadTest.Inputs;

namespace LoadTest.Cli;

/// <summary>What the command line says about the requests. Null/empty members mean "take it from the model's
/// metadata". <see cref="Dims"/> applies to <see cref="Input"/> (or the model's first input); <see cref="Shapes"/>
/// names inputs explicitly; both are without the batch dimension for a model that batches. <see cref="SyntheticImages"/>:
/// without an image folder, send generated 224x224 pictures instead of random tensors (the scenario).</summary>
public sealed record RequestOptions(string? Input, IReadOnlyList<string> Outputs, long[]? Dims, IReadOnlyDictionary<string, long[]> Shapes,
    string? DataType, int Batch, string? ImagesDirectory, ImageScaling Scaling, int? ExpectTop1, int Seed, bool SyntheticImages = false);
