using System.Globalization;
using System.Text;
using Inference.Server.ModelTools.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>
/// A stand-alone preprocessing model, the first step of an image ensemble: UINT8 pixels [batch, H, W, 3] (RGB, HWC)
/// in, the normalized FP32 [batch, 3, H, W] a classifier takes out, computed as <see cref="PreprocessingBuilder"/>
/// does inside a graph (Transpose to CHW on the bytes, Cast, one Mul and one Add per channel folding scale and
/// mean/std: <c>x * scale/std - mean/std</c>), so it matches <see cref="PixelNormalization.ToChw"/> on the client.
/// </summary>
public static class ImagePreprocessingModelBuilder
{
    public const string InputName = "pixels";

    /// <summary>Writes <c>&lt;repository&gt;/&lt;name&gt;/config.pbtxt</c> and <c>1/model.onnx</c> (one CPU instance, dynamic
    /// batching up to <paramref name="maxBatchSize"/>); the output is named <paramref name="outputName"/>. Returns the model folder.</summary>
    public static string Write(string repositoryPath, string name, int imageSize, string outputName, PixelNormalization normalization,
        int maxBatchSize, int maxQueueDelayMicroseconds = 0)
    {
        var folder = Path.Combine(repositoryPath, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        var g = new OnnxGraphBuilder(name);
        g.AddInput(InputName, ElementType.Uint8, "batch", imageSize, imageSize, 3);
        g.AddOutput(outputName, ElementType.Float, "batch", 3, imageSize, imageSize);
        var multiplier = g.AddInitializer("multiplier", [1, 3, 1, 1], v =>
        {
            for (var c = 0; c < 3; c++)
            {
                v[c] = normalization.Multiplier(c);
            }
        });
        var offset = g.AddInitializer("offset", [1, 3, 1, 1], v =>
        {
            for (var c = 0; c < 3; c++)
            {
                v[c] = normalization.Offset(c);
            }
        });
        g.AddNode("Transpose", [InputName], ["chw"], "transpose", OnnxAttributes.Ints("perm", 0, 3, 1, 2));
        g.AddNode("Cast", ["chw"], ["chw_float"], "cast", OnnxAttributes.Int("to", (long)ElementType.Float));
        g.AddNode("Mul", ["chw_float", multiplier], ["scaled"], "scale");
        g.AddNode("Add", ["scaled", offset], [outputName], "normalize");
        g.Save(Path.Combine(folder, "1", "model.onnx"));

        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"name: \"{name}\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: {maxBatchSize}\n");
        sb.Append(c, $"input [ {{ name: \"{InputName}\" data_type: TYPE_UINT8 format: FORMAT_NHWC dims: [ {imageSize}, {imageSize}, 3 ] }} ]\n");
        sb.Append(c, $"output [ {{ name: \"{outputName}\" data_type: TYPE_FP32 dims: [ 3, {imageSize}, {imageSize} ] }} ]\n");
        sb.Append("instance_group [ { count: 1 kind: KIND_CPU } ]\n");
        sb.Append(c, $"dynamic_batching {{ max_queue_delay_microseconds: {maxQueueDelayMicroseconds} }}\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "config.pbtxt"), sb.ToString());
        return folder;
    }
}
