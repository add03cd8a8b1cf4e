using System.Globalization;
using Inference.Server.ModelTools.Preprocessing;

namespace Inference.Server.ModelTools;

/// <summary>
/// Writes an image-classification ensemble next to an existing classifier (such as the default <c>resnet50</c>): a
/// preprocessing model <c>&lt;classifier&gt;_preprocess</c> (<see cref="ImagePreprocessingModelBuilder"/>, UINT8 HWC pixels
/// to ImageNet-normalized FP32 CHW) and the ensemble <c>&lt;ensemble&gt;</c> (platform <c>ensemble</c>, input
/// <c>image</c> UINT8 [H, W, 3], output the classifier's, two steps; a classification of the output uses the
/// classifier's labels), with an empty version folder <c>1</c>.
/// </summary>
public static class ImageEnsembleWriter
{
    public const string ImageInputName = "image";

    /// <summary>Returns the ensemble's folder.</summary>
    public static string Write(string repositoryPath, string ensembleName, string classifierName, ResNetOptions classifier,
        int maxBatchSize)
    {
        var preprocess = classifierName + "_preprocess";
        ImagePreprocessingModelBuilder.Write(repositoryPath, preprocess, classifier.ImageSize, classifier.InputName, PixelNormalization.ImageNet, maxBatchSize);
        var folder = Path.Combine(repositoryPath, ensembleName);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        var c = CultureInfo.InvariantCulture;
        var size = classifier.ImageSize;
        AtomicFile.WriteAllText(Path.Combine(folder, "config.pbtxt"), string.Create(c, $$"""
            name: "{{ensembleName}}"
            platform: "ensemble"
            max_batch_size: {{maxBatchSize}}
            input [
              {
                name: "{{ImageInputName}}"
                data_type: TYPE_UINT8
                format: FORMAT_NHWC
                dims: [ {{size}}, {{size}}, 3 ]
              }
            ]
            output [
              {
                name: "{{classifier.OutputName}}"
                data_type: TYPE_FP32
                dims: [ {{classifier.NumClasses}} ]
              }
            ]
            ensemble_scheduling {
              step [
                {
                  model_name: "{{preprocess}}"
                  model_version: -1
                  input_map { key: "{{ImagePreprocessingModelBuilder.InputName}}" value: "{{ImageInputName}}" }
                  output_map { key: "{{classifier.InputName}}" value: "preprocessed" }
                },
                {
                  model_name: "{{classifierName}}"
                  model_version: -1
                  input_map { key: "{{classifier.InputName}}" value: "preprocessed" }
                  output_map { key: "{{classifier.OutputName}}" value: "{{classifier.OutputName}}" }
                }
              ]
            }

            """));
        return folder;
    }
}
