using System.Globalization;
using System.Text;

namespace Inference.Server.ModelTools;

/// <summary>Writes the config.pbtxt (protobuf text format of Triton's ModelConfig) of a single-input,
/// single-output FP32 image classifier such as the generated ResNets: one instance group of
/// <c>instanceCount</c> instances of <c>instanceKind</c> (KIND_CPU, or KIND_GPU for GPU 0).</summary>
public static class ModelConfigText
{
    public static string ImageClassifier(
        string name,
        int maxBatchSize,
        string inputName,
        int imageSize,
        string outputName,
        int numClasses,
        string? labelFile,
        int instanceCount,
        IReadOnlyList<int> preferredBatchSizes,
        int maxQueueDelayMicroseconds,
        string instanceKind = "KIND_CPU")
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"name: \"{name}\"\n");
        sb.Append("platform: \"onnxruntime_onnx\"\n");
        sb.Append(c, $"max_batch_size: {maxBatchSize}\n");
        sb.Append("input [\n  {\n");
        sb.Append(c, $"    name: \"{inputName}\"\n");
        sb.Append("    data_type: TYPE_FP32\n    format: FORMAT_NCHW\n");
        sb.Append(c, $"    dims: [ 3, {imageSize}, {imageSize} ]\n");
        sb.Append("  }\n]\n");
        sb.Append("output [\n  {\n");
        sb.Append(c, $"    name: \"{outputName}\"\n");
        sb.Append("    data_type: TYPE_FP32\n");
        sb.Append(c, $"    dims: [ {numClasses} ]\n");
        if (labelFile is not null)
        {
            sb.Append(c, $"    label_filename: \"{labelFile}\"\n");
        }
        sb.Append("  }\n]\n");
        sb.Append("instance_group [\n  {\n");
        sb.Append(c, $"    count: {instanceCount}\n");
        sb.Append(c, $"    kind: {instanceKind}\n  }}\n]\n");
        sb.Append("dynamic_batching {\n");
        if (preferredBatchSizes.Count > 0)
        {
            sb.Append(c, $"  preferred_batch_size: [ {string.Join(", ", preferredBatchSizes)} ]\n");
        }
        sb.Append(c, $"  max_queue_delay_microseconds: {maxQueueDelayMicroseconds}\n");
        sb.Append("}\n");
        return sb.ToString();
    }
}
