using System.Globalization;
using System.Text;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools;

/// <summary>
/// A trivial model (OUTPUT0 = Identity(INPUT0), FP32 [batch, width]) with its Triton config: what the
/// server-overhead benchmark and the protocol end-to-end tests serve, so that the model costs nothing.
/// </summary>
public static class IdentityModelBuilder
{
    /// <summary>Writes <c>&lt;repository&gt;/&lt;name&gt;/config.pbtxt</c> and <c>1/model.onnx</c>; returns the model folder.</summary>
    /// <param name="maxQueueDelayMicroseconds">null: no dynamic_batching block (each request runs alone).</param>
    public static string Write(string repositoryPath, string name = "identity", int width = 16, int maxBatchSize = 64,
        int instances = 1, int? maxQueueDelayMicroseconds = 0, int maxQueueSize = 0)
    {
        var folder = Path.Combine(repositoryPath, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        var g = new OnnxGraphBuilder(name);
        g.AddInput("INPUT0", TensorProto.Types.DataType.Float, "batch", width);
        g.AddOutput("OUTPUT0", TensorProto.Types.DataType.Float, "batch", width);
        g.AddNode("Identity", ["INPUT0"], ["OUTPUT0"]);
        g.Save(Path.Combine(folder, "1", "model.onnx"));

        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"name: \"{name}\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: {maxBatchSize}\n");
        sb.Append(c, $"input [ {{ name: \"INPUT0\" data_type: TYPE_FP32 dims: [ {width} ] }} ]\n");
        sb.Append(c, $"output [ {{ name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ {width} ] }} ]\n");
        sb.Append(c, $"instance_group [ {{ count: {instances} kind: KIND_CPU }} ]\n");
        if (maxQueueDelayMicroseconds is { } delay)
        {
            sb.Append(c, $"dynamic_batching {{\n  max_queue_delay_microseconds: {delay}\n");
            if (maxQueueSize > 0)
            {
                sb.Append(c, $"  default_queue_policy {{ max_queue_size: {maxQueueSize} }}\n");
            }
            sb.Append("}\n");
        }
        AtomicFile.WriteAllText(Path.Combine(folder, "config.pbtxt"), sb.ToString());
        return folder;
    }
}
