using System.Globalization;
using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;

namespace Inference.Tests.EndToEnd;

/// <summary>Composing models and ensemble configs for the ensemble tests: element-wise binary models over FP32
/// [batch, 16] (inputs A, B; output OUT) and the "pipeline" ensemble of three of them:
/// sum = X + Y and diff = X - Y in parallel, then product = sum * diff (outputs product and sum).</summary>
internal static class EnsembleModels
{
    public const int Width = 16;

    /// <summary>OUT = <paramref name="op"/>(A, B) ("Add", "Sub", "Mul"), max batch 8, dynamic batching.</summary>
    public static void WriteBinary(string repository, string name, string op, int maxBatchSize = 8)
    {
        var folder = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        var g = new OnnxGraphBuilder(name);
        g.AddInput("A", TensorProto.Types.DataType.Float, "batch", Width);
        g.AddInput("B", TensorProto.Types.DataType.Float, "batch", Width);
        g.AddOutput("OUT", TensorProto.Types.DataType.Float, "batch", Width);
        g.AddNode(op, ["A", "B"], ["OUT"]);
        g.Save(Path.Combine(folder, "1", "model.onnx"));
        File.WriteAllText(Path.Combine(folder, "config.pbtxt"), string.Create(CultureInfo.InvariantCulture, $$"""
            name: "{{name}}"
            platform: "onnxruntime_onnx"
            max_batch_size: {{maxBatchSize}}
            input [ { name: "A" data_type: TYPE_FP32 dims: [ {{Width}} ] }, { name: "B" data_type: TYPE_FP32 dims: [ {{Width}} ] } ]
            output [ { name: "OUT" data_type: TYPE_FP32 dims: [ {{Width}} ] } ]
            instance_group [ { count: 1 kind: KIND_CPU } ]
            dynamic_batching { }
            """));
    }

    /// <summary>The add, sub and mul models.</summary>
    public static void WriteComposing(string repository)
    {
        WriteBinary(repository, "add", "Add");
        WriteBinary(repository, "sub", "Sub");
        WriteBinary(repository, "mul", "Mul");
    }

    public const string PipelineSteps = """
        ensemble_scheduling {
          step [
            { model_name: "add" model_version: -1 input_map { key: "A" value: "X" } input_map { key: "B" value: "Y" } output_map { key: "OUT" value: "sum" } },
            { model_name: "sub" model_version: -1 input_map { key: "A" value: "X" } input_map { key: "B" value: "Y" } output_map { key: "OUT" value: "diff" } },
            { model_name: "mul" model_version: -1 input_map { key: "A" value: "sum" } input_map { key: "B" value: "diff" } output_map { key: "OUT" value: "product" } }
          ]
        }
        """;

    /// <summary>An ensemble config: <paramref name="body"/> after name, platform and max_batch_size.</summary>
    public static void WriteEnsemble(string repository, string name, string body, int maxBatchSize = 8)
    {
        var folder = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        File.WriteAllText(Path.Combine(folder, "config.pbtxt"),
            $"name: \"{name}\"\nplatform: \"ensemble\"\nmax_batch_size: {maxBatchSize}\n{body}\n");
    }

    public const string PipelineIo = """
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 16 ] }, { name: "Y" data_type: TYPE_FP32 dims: [ 16 ] } ]
        output [ { name: "product" data_type: TYPE_FP32 dims: [ 16 ] }, { name: "sum" data_type: TYPE_FP32 dims: [ 16 ] } ]
        """;

    public static void WritePipeline(string repository, string name = "pipeline", string extra = "") =>
        WriteEnsemble(repository, name, PipelineIo + PipelineSteps + "\n" + extra);

    /// <summary>The "adder" ensemble: one step, sum = add(X, Y).</summary>
    public const string AdderBody = """
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 16 ] }, { name: "Y" data_type: TYPE_FP32 dims: [ 16 ] } ]
        output [ { name: "sum" data_type: TYPE_FP32 dims: [ 16 ] } ]
        ensemble_scheduling { step [ { model_name: "add" model_version: -1 input_map { key: "A" value: "X" } input_map { key: "B" value: "Y" } output_map { key: "OUT" value: "sum" } } ] }
        """;

    /// <summary>An ensemble over FP32 X, Y [16] whose one step runs <paramref name="model"/>, an ensemble with the same
    /// inputs and output product.</summary>
    public static string WrapperBody(string model) => PipelineIo.Replace(", { name: \"sum\" data_type: TYPE_FP32 dims: [ 16 ] }", "", StringComparison.Ordinal) + $$"""
        ensemble_scheduling { step [ { model_name: "{{model}}" model_version: -1 input_map { key: "X" value: "X" } input_map { key: "Y" value: "Y" } output_map { key: "product" value: "product" } } ] }
        """;

    /// <summary>The JSON config (Triton's form, as a load request's config override) of an ensemble with
    /// <paramref name="body"/> after platform and max_batch_size, without a name (the load names it).</summary>
    public static string OverrideJson(string body, int maxBatchSize = 8)
    {
        var parsed = Inference.Server.Repository.PbtxtParser.ParseModelConfig($"platform: \"ensemble\"\nmax_batch_size: {maxBatchSize}\n{body}\n", "override");
        Assert.True(parsed.IsSuccess, parsed.Error?.Message);
        return Inference.Server.Repository.ModelConfigJson.ToJson(parsed.Value!);
    }
}
