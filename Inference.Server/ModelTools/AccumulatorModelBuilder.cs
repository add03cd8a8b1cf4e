using System.Globalization;
using System.Text;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools;

/// <summary>
/// A stateful model for the sequence batcher, with its Triton config: an accumulator whose running sum is an
/// implicit state (sequence_batching.state INPUT_STATE/OUTPUT_STATE, kept by the server per sequence).
/// <list type="bullet">
/// <item>OUTPUT = START ? INPUT : INPUT_STATE + INPUT, and OUTPUT_STATE = OUTPUT (FP32 [1]);</item>
/// <item>CONTROLS = [START, END, READY] as FP32 [3], so a client sees the control inputs the server fed;</item>
/// <item>CORRID_OUT = CORRID (UINT64 [1]), the correlation id the server fed.</item>
/// </list>
/// The controls are of <c>controlType</c> ("fp32", "int32" or "bool": fp32_false_true, int32_false_true or
/// bool_false_true in the config).
/// </summary>
public static class AccumulatorModelBuilder
{
    /// <summary>Writes <c>&lt;repository&gt;/&lt;name&gt;/config.pbtxt</c> and <c>1/model.onnx</c>; returns the model folder.</summary>
    /// <param name="strategy">"direct" or "oldest".</param>
    /// <param name="maxBatchSize">0 for a model that does not batch (direct only).</param>
    /// <param name="maxSequenceIdleMicroseconds">0: Triton's default (1 s).</param>
    /// <param name="maxQueueDelayMicroseconds">The strategy's batching delay.</param>
    /// <param name="maxCandidateSequences">Oldest: sequences per instance.</param>
    /// <param name="correlationIdControl">false: no CORRID input, CORRID_OUT output or control (string sequence ids then work).</param>
    /// <param name="rateLimiter">Text of an instance group <c>rate_limiter { ... }</c> block's body, or null.</param>
    public static string Write(string repositoryPath, string name = "accumulator", string strategy = "direct", int maxBatchSize = 8,
        int instances = 1, string controlType = "fp32", ulong maxSequenceIdleMicroseconds = 0, ulong maxQueueDelayMicroseconds = 0,
        int maxCandidateSequences = 4, string? rateLimiter = null, bool correlationIdControl = true)
    {
        if (strategy is not ("direct" or "oldest"))
        {
            throw new ModelToolException($"strategy must be 'direct' or 'oldest', got '{strategy}'");
        }
        var (onnxType, configType, falseTrue) = controlType switch
        {
            "fp32" => (TensorProto.Types.DataType.Float, "fp32_false_true", "[ 0, 1 ]"),
            "int32" => (TensorProto.Types.DataType.Int32, "int32_false_true", "[ 0, 1 ]"),
            "bool" => (TensorProto.Types.DataType.Bool, "bool_false_true", "[ false, true ]"),
            _ => throw new ModelToolException($"control type must be fp32, int32 or bool, got '{controlType}'"),
        };
        if (strategy == "oldest" && maxBatchSize <= 0)
        {
            throw new ModelToolException("the oldest strategy needs max_batch_size > 0");
        }

        var folder = Path.Combine(repositoryPath, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        var g = new OnnxGraphBuilder(name);
        OnnxDim[] Dims(long n) => maxBatchSize > 0 ? ["batch", n] : [n];
        var f32 = TensorProto.Types.DataType.Float;
        g.AddInput("INPUT", f32, Dims(1));
        g.AddInput("INPUT_STATE", f32, Dims(1));
        g.AddInput("START", onnxType, Dims(1));
        g.AddInput("END", onnxType, Dims(1));
        g.AddInput("READY", onnxType, Dims(1));
        if (correlationIdControl)
        {
            g.AddInput("CORRID", TensorProto.Types.DataType.Uint64, Dims(1));
        }
        g.AddOutput("OUTPUT", f32, Dims(1));
        g.AddOutput("OUTPUT_STATE", f32, Dims(1));
        g.AddOutput("CONTROLS", f32, Dims(3));
        if (correlationIdControl)
        {
            g.AddOutput("CORRID_OUT", TensorProto.Types.DataType.Uint64, Dims(1));
        }

        var boolType = (long)TensorProto.Types.DataType.Bool;
        var floatType = (long)f32;
        g.AddNode("Cast", ["START"], ["start_bool"], attributes: OnnxAttributes.Int("to", boolType));
        g.AddNode("Add", ["INPUT_STATE", "INPUT"], ["sum"]);
        g.AddNode("Where", ["start_bool", "INPUT", "sum"], ["OUTPUT"]);
        g.AddNode("Identity", ["OUTPUT"], ["OUTPUT_STATE"]);
        g.AddNode("Cast", ["START"], ["start_f"], attributes: OnnxAttributes.Int("to", floatType));
        g.AddNode("Cast", ["END"], ["end_f"], attributes: OnnxAttributes.Int("to", floatType));
        g.AddNode("Cast", ["READY"], ["ready_f"], attributes: OnnxAttributes.Int("to", floatType));
        g.AddNode("Concat", ["start_f", "end_f", "ready_f"], ["CONTROLS"], attributes: OnnxAttributes.Int("axis", maxBatchSize > 0 ? 1 : 0));
        if (correlationIdControl)
        {
            g.AddNode("Identity", ["CORRID"], ["CORRID_OUT"]);
        }
        g.Save(Path.Combine(folder, "1", "model.onnx"));

        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"name: \"{name}\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: {maxBatchSize}\n");
        sb.Append("input [ { name: \"INPUT\" data_type: TYPE_FP32 dims: [ 1 ] } ]\n");
        sb.Append("output [\n  { name: \"OUTPUT\" data_type: TYPE_FP32 dims: [ 1 ] },\n");
        sb.Append("  { name: \"CONTROLS\" data_type: TYPE_FP32 dims: [ 3 ] }");
        sb.Append(correlationIdControl ? ",\n  { name: \"CORRID_OUT\" data_type: TYPE_UINT64 dims: [ 1 ] }\n]\n" : "\n]\n");
        sb.Append(c, $"instance_group [ {{ count: {instances} kind: KIND_CPU");
        if (rateLimiter is not null)
        {
            sb.Append(c, $" rate_limiter {{ {rateLimiter} }}");
        }
        sb.Append(" } ]\n");
        sb.Append("sequence_batching {\n");
        if (maxSequenceIdleMicroseconds > 0)
        {
            sb.Append(c, $"  max_sequence_idle_microseconds: {maxSequenceIdleMicroseconds}\n");
        }
        if (strategy == "direct")
        {
            sb.Append(c, $"  direct {{ max_queue_delay_microseconds: {maxQueueDelayMicroseconds} }}\n");
        }
        else
        {
            sb.Append(c, $"  oldest {{ max_candidate_sequences: {maxCandidateSequences} max_queue_delay_microseconds: {maxQueueDelayMicroseconds} }}\n");
        }
        sb.Append("  control_input [\n");
        sb.Append(c, $"    {{ name: \"START\" control [ {{ kind: CONTROL_SEQUENCE_START {configType}: {falseTrue} }} ] }},\n");
        sb.Append(c, $"    {{ name: \"END\" control [ {{ kind: CONTROL_SEQUENCE_END {configType}: {falseTrue} }} ] }},\n");
        sb.Append(c, $"    {{ name: \"READY\" control [ {{ kind: CONTROL_SEQUENCE_READY {configType}: {falseTrue} }} ] }}");
        sb.Append(correlationIdControl ? ",\n    { name: \"CORRID\" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 } ] }\n  ]\n" : "\n  ]\n");
        sb.Append("  state [ { input_name: \"INPUT_STATE\" output_name: \"OUTPUT_STATE\" data_type: TYPE_FP32 dims: [ 1 ] ");
        sb.Append("initial_state { data_type: TYPE_FP32 dims: [ 1 ] zero_data: true name: \"zero\" } } ]\n}\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "config.pbtxt"), sb.ToString());
        return folder;
    }
}
