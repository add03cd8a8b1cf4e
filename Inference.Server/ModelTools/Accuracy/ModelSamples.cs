using Inference.Server.ModelTools.Preprocessing;

namespace Inference.Server.ModelTools.Accuracy;

/// <summary>Builds calibration and held-out samples for a model's input: from photographs (decoded, resized and
/// center-cropped by <see cref="ImageLoader"/>, then normalized) or generated from a seed (same seed, same
/// samples). Generated samples of an image input are random 8-bit pixels normalized like photographs, so they
/// span the same value range; other inputs get uniform values in [-1, 1].</summary>
public static class ModelSamples
{
    public static IReadOnlyList<ModelSample> FromImages(IEnumerable<string> files, ModelInputSpec spec, PixelNormalization normalization)
    {
        var size = RequireSquareImage(spec);
        var samples = new List<ModelSample>();
        foreach (var file in files)
        {
            var pixels = ImageLoader.LoadRgb(file, size);
            var tensor = new float[pixels.Length];
            normalization.ToChw(pixels, tensor);
            samples.Add(new ModelSample(Path.GetFileName(file), tensor, pixels));
        }
        return samples;
    }

    public static IReadOnlyList<ModelSample> Generated(ModelInputSpec spec, int count, ulong seed, PixelNormalization normalization)
    {
        var samples = new List<ModelSample>(count);
        for (var i = 0; i < count; i++)
        {
            var random = new DeterministicRandom(DeterministicRandom.DeriveSeed(seed, (ulong)i));
            var tensor = new float[spec.SampleElementCount];
            if (spec.IsNchwImage)
            {
                var pixels = new byte[tensor.Length];
                for (var p = 0; p < pixels.Length; p++)
                {
                    pixels[p] = (byte)(random.NextUInt64() >> 56);
                }
                normalization.ToChw(pixels, tensor);
                samples.Add(new ModelSample($"generated-{seed}-{i}", tensor, pixels));
            }
            else
            {
                random.FillUniform(tensor, 1f);
                samples.Add(new ModelSample($"generated-{seed}-{i}", tensor, null));
            }
        }
        return samples;
    }

    private static int RequireSquareImage(ModelInputSpec spec) =>
        spec.IsNchwImage && spec.Dims[2] == spec.Dims[3]
            ? (int)spec.Dims[2]
            : throw new ModelToolException($"Images can feed only a [batch, 3, N, N] input; '{spec.InputName}' is [{string.Join(", ", spec.Dims)}].");
}
