using System.Globalization;
using System.Text;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools;

/// <summary>
/// A model with the wire shape of ResNet-50's UINT8 preprocess variant (input <c>pixels</c> UINT8
/// [batch, 224, 224, 3], output <c>logits</c> FP32 [batch, 1000]) that costs almost nothing to run: the per-channel
/// mean of the first pixel row times a fixed [3, 1000] matrix. Serving it measures the server's own ceiling on image-sized
/// requests (protocol, batching, copies), which the engine-only figures cannot show.
/// </summary>
public static class ImageSinkModelBuilder
{
    public const string InputName = "pixels";
    public const string OutputName = "logits";

    /// <summary>Writes <c>&lt;repository&gt;/&lt;name&gt;/config.pbtxt</c> (KIND_CPU, dynamic batching without delay)
    /// and <c>1/model.onnx</c>; returns the model folder.</summary>
    public static string Write(string repositoryPath, string name = "image_sink", int imageSize = 224, int classes = 1000,
        int maxBatchSize = 256, int instances = 1)
    {
        var folder = Path.Combine(repositoryPath, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        var g = new OnnxGraphBuilder(name);
        g.AddInput(InputName, TensorProto.Types.DataType.Uint8, "batch", imageSize, imageSize, 3);
        g.AddOutput(OutputName, TensorProto.Types.DataType.Float, "batch", classes);
        var weights = g.AddInitializer("weights", [3, classes], values =>
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (i % 7 - 3) / 3f;
            }
        });
        // Only the first pixel row is read: Slice(pixels, [0], [1], axes [1]) -> [batch, 1, width, 3].
        var start = g.AddNode("Constant", [], ["row_start"], attributes: OnnxAttributes.Ints("value_ints", 0));
        var end = g.AddNode("Constant", [], ["row_end"], attributes: OnnxAttributes.Ints("value_ints", 1));
        var axis = g.AddNode("Constant", [], ["row_axis"], attributes: OnnxAttributes.Ints("value_ints", 1));
        var row = g.AddNode("Slice", [InputName, start, end, axis], ["first_row"]);
        var asFloat = g.AddNode("Cast", [row], ["as_float"], attributes: OnnxAttributes.Int("to", (long)TensorProto.Types.DataType.Float));
        var mean = g.AddNode("ReduceMean", [asFloat], ["channel_mean"], attributes: [OnnxAttributes.Ints("axes", 1, 2), OnnxAttributes.Int("keepdims", 0)]);
        g.AddNode("MatMul", [mean, weights], [OutputName]);
        g.Save(Path.Combine(folder, "1", "model.onnx"));

        var c = CultureInfo.InvariantCulture;
        var config = new StringBuilder();
        config.Append(c, $"name: \"{name}\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: {maxBatchSize}\n");
        config.Append(c, $"input [ {{ name: \"{InputName}\" data_type: TYPE_UINT8 dims: [ {imageSize}, {imageSize}, 3 ] }} ]\n");
        config.Append(c, $"output [ {{ name: \"{OutputName}\" data_type: TYPE_FP32 dims: [ {classes} ] }} ]\n");
        config.Append(c, $"instance_group [ {{ count: {instances} kind: KIND_CPU }} ]\n");
        config.Append("dynamic_batching { max_queue_delay_microseconds: 0 }\n");
        // One ONNX Runtime thread: the model has nothing to parallelize, and idle pool threads spin.
        config.Append("parameters { key: \"intra_op_thread_count\" value: { string_value: \"1\" } }\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "config.pbtxt"), config.ToString());
        return folder;
    }
}
