using Inference.Server.ModelTools.Preprocessing;

namespace Inference.Server.ModelTools.Accuracy;

/// <summary>
/// The tools' calibration and held-out samples from their command-line words: <c>generated</c> (seeded random
/// images; calibration and held-out use different seeds) or a folder of PNG photographs. When calibration
/// reads a folder and no separate held-out source is given, the folder's last quarter of files (by name, at least
/// one) is held out and the rest calibrates, so the report never scores on calibration images.
/// </summary>
public static class SampleSelection
{
    public const string Generated = "generated";

    private const ulong CalibrationSeed = 1;
    private const ulong HeldOutSeed = 2;

    public static (IReadOnlyList<ModelSample> Calibration, IReadOnlyList<ModelSample> HeldOut) ForQuantization(
        ModelInputSpec spec, string calibration, string? heldOut, int generatedCalibration, int generatedHeldOut, PixelNormalization normalization)
    {
        if (calibration == Generated)
        {
            return (ModelSamples.Generated(spec, generatedCalibration, CalibrationSeed, normalization), HeldOut(spec, heldOut, generatedHeldOut, normalization));
        }
        var images = ImageLoader.ListImages(calibration);
        if (heldOut is not null)
        {
            return (ModelSamples.FromImages(images, spec, normalization), HeldOut(spec, heldOut, generatedHeldOut, normalization));
        }
        if (images.Count < 2)
        {
            throw new ModelToolException($"{calibration} holds {images.Count} PNG images; at least 2 are needed (some are held out), or pass --eval.");
        }
        var held = Math.Max(1, images.Count / 4);
        return (ModelSamples.FromImages(images.Take(images.Count - held), spec, normalization),
                ModelSamples.FromImages(images.Skip(images.Count - held), spec, normalization));
    }

    public static IReadOnlyList<ModelSample> HeldOut(ModelInputSpec spec, string? source, int generatedCount, PixelNormalization normalization) =>
        source is null or Generated
            ? ModelSamples.Generated(spec, generatedCount, HeldOutSeed, normalization)
            : ModelSamples.FromImages(ImageLoader.ListImages(source), spec, normalization);
}
