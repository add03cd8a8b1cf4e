using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace Inference.Tests.Repository;

public class ModelConfigValidatorTests
{
    private const string File = "models/resnet50/config.pbtxt";

    private static ModelConfig Resnet() => PbtxtParser.ParseModelConfig(SampleConfigs.Resnet, File).Value!;

    private static string Error(ModelConfig c, string? expectedName = null)
    {
        var e = ModelConfigValidator.Validate(c, File, expectedName);
        Assert.NotNull(e);
        return e.Message;
    }

    private static ModelConfig With(string extra) =>
        PbtxtParser.ParseModelConfig("name: \"m\"\ninput { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] }\noutput { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] }\n" + extra, File).Value!;

    [Fact]
    public void RealisticConfig_IsValid_AndBackendIsFilledFromPlatform()
    {
        var c = Resnet();
        Assert.Null(ModelConfigValidator.Validate(c, File, "resnet50"));
        Assert.Equal("onnxruntime", c.Backend);
    }

    [Fact]
    public void PlatformIsFilledFromBackend()
    {
        var c = With("backend: \"onnxruntime\"");
        Assert.Null(ModelConfigValidator.Validate(c, File));
        Assert.Equal("onnxruntime_onnx", c.Platform);
    }

    [Fact]
    public void InstanceGroupCountZero_BecomesOne()
    {
        var c = With("instance_group { kind: KIND_CPU }");
        Assert.Null(ModelConfigValidator.Validate(c, File));
        Assert.Equal(1, c.InstanceGroup[0].Count);
    }

    [Fact]
    public void NameMustMatchFolder() =>
        Assert.Equal($"{File}: name: 'm' does not match the model folder name 'other'", Error(With(""), "other"));

    [Theory]
    [InlineData("platform: \"tensorflow_graphdef\"", "platform: 'tensorflow_graphdef' is not supported")]
    [InlineData("backend: \"python\"", "backend: 'python' is not supported")]
    [InlineData("max_batch_size: -1", "max_batch_size: must be >= 0, got -1")]
    [InlineData("input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }", "input[1].name: 'x' is used by another tensor")]
    [InlineData("input { name: \"z\" dims: [ 1 ] }", "input[1].data_type: tensor 'z' must have a valid data type, got 0")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 }", "input[1].dims: tensor 'z' must specify dims")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 dims: [ 0 ] }", "input[1].dims: tensor 'z' has dimension 0")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 dims: [ -2 ] }", "input[1].dims: tensor 'z' has dimension -2")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 dims: [ 6 ] reshape { shape: [ 4, 2 ] } }", "input[1].reshape: tensor 'z' reshape [4,2] does not hold the same elements as dims [6]")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 dims: [ -1, 6 ] reshape { shape: [ 6 ] } }", "input[1].reshape: tensor 'z' reshape [6] does not hold the same elements")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 dims: [ 1 ] reshape { } }", "input[1].reshape: tensor 'z' cannot have an empty reshape in a non-batching model")]
    [InlineData("input { name: \"z\" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 4 ] }", "input[1].dims: input 'z' with format NCHW must have 3 dims")]
    [InlineData("output { name: \"\" data_type: TYPE_FP32 dims: [ 1 ] }", "output[1].name: must be set")]
    [InlineData("output { name: \"s\" data_type: TYPE_INT64 dims: [ 1 ] is_shape_tensor: true }", "output[1].is_shape_tensor: shape tensors are not supported")]
    [InlineData("dynamic_batching { }", "dynamic_batching: requires max_batch_size > 0")]
    [InlineData("max_batch_size: 4 sequence_batching { oldest { max_candidate_sequences: 0 } }", "sequence_batching.oldest.max_candidate_sequences: must be >= 1, got 0")]
    [InlineData("sequence_batching { state { input_name: \"S\" output_name: \"T\" data_type: TYPE_FP32 dims: [ -1 ] } }", "sequence_batching.state[0].dims: implicit state needs fixed, positive dims")]
    [InlineData("instance_group { count: -1 }", "instance_group[0].count: must be >= 1, got -1")]
    [InlineData("instance_group { kind: KIND_CPU gpus: [ 0 ] }", "instance_group[0].gpus: is only valid for KIND_GPU or KIND_AUTO groups")]
    [InlineData("instance_group { kind: KIND_MODEL }", "instance_group[0].kind: KIND_MODEL is not supported")]
    [InlineData("instance_group { name: \"g\" } instance_group { name: \"g\" }", "instance_group[1].name: 'g' is used by another instance group")]
    [InlineData("version_policy { latest { } }", "version_policy.latest.num_versions: must be >= 1")]
    [InlineData("version_policy { specific { versions: [ 1, 0 ] } }", "version_policy.specific.versions: version 0 is not valid")]
    [InlineData("optimization { graph { level: 3 } }", "optimization.graph.level: 3 is not valid; expected -1 (basic), 0 (all, the default), 1 (extended) or 2 (disabled)")]
    [InlineData("optimization { execution_accelerators { gpu_execution_accelerator { name: \"tensorrtt\" } } }", "optimization.execution_accelerators.gpu_execution_accelerator[0].name: unknown accelerator 'tensorrtt'; the onnxruntime backend knows 'tensorrt' and 'cuda'")]
    [InlineData("optimization { execution_accelerators { cpu_execution_accelerator { name: \"cuda\" } } }", "optimization.execution_accelerators.cpu_execution_accelerator[0].name: unknown accelerator 'cuda'; the onnxruntime backend knows 'openvino'")]
    public void InvalidConfigs_AreReportedWithFileAndField(string extra, string expected)
    {
        var message = Error(With(extra));
        Assert.StartsWith($"{File}: {expected}", message);
    }

    [Fact]
    public void MatchingReshape_WithVariableDims_IsValid() =>
        Assert.Null(ModelConfigValidator.Validate(With("input { name: \"z\" data_type: TYPE_FP32 dims: [ -1, 6 ] reshape { shape: [ -1, 2, 3 ] } }"), File));

    [Theory]
    [InlineData("control_input [ { name: \"S\" control [ { kind: CONTROL_SEQUENCE_START } ] } ]",
        "sequence batching must specify either 'int32_false_true', 'fp32_false_true' or 'bool_false_true' for CONTROL_SEQUENCE_START for m")]
    [InlineData("control_input [ { name: \"S\" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] fp32_false_true: [ 0, 1 ] } ] } ]",
        "sequence batching specifies more than one from 'int32_false_true', 'fp32_false_true' and 'bool_false_true' for CONTROL_SEQUENCE_START for m")]
    [InlineData("control_input [ { name: \"S\" control [ { kind: CONTROL_SEQUENCE_END int32_false_true: [ 1 ] } ] } ]",
        "sequence batching control 'int32_false_true' must have exactly 2 entries for CONTROL_SEQUENCE_END for m")]
    [InlineData("control_input [ { name: \"S\" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] }, { name: \"S\" control [ { kind: CONTROL_SEQUENCE_END int32_false_true: [ 0, 1 ] } ] } ]",
        "sequence batching control tensor 'S' is specified for multiple control kinds for m")]
    [InlineData("control_input [ { name: \"C\" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_FP32 } ] } ]",
        "unexpected data type for control CONTROL_SEQUENCE_CORRID for m. Allowed data types are TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 and TYPE_STRING")]
    [InlineData("direct { minimum_slot_utilization: 1.5 }", "sequence batching minimum slot utilization must be in range (0.0, 1.0] for m")]
    [InlineData("state [ { input_name: \"x\" output_name: \"s\" data_type: TYPE_FP32 dims: [ 1 ] } ]", "State input name 'x' cannot be the same as a model input name")]
    public void SequenceBatchingErrors_UseTritonsMessages(string batching, string expected) =>
        Assert.Equal(expected, Error(With($"sequence_batching {{ {batching} }}")));

    [Fact]
    public void UnsupportedFeatures_UseTheUnsupportedCode() =>
        Assert.Equal(ErrorCode.Unsupported, ModelConfigValidator.Validate(With("sequence_batching { iterative_sequence: true }"), File)!.Code);

    [Theory]
    [InlineData("preferred_batch_size: [ 0 ]", "dynamic_batching.preferred_batch_size[0]: 0 is not valid; preferred batch sizes must be in 1..max_batch_size (8)")]
    [InlineData("preferred_batch_size: [ 4, 9 ]", "dynamic_batching.preferred_batch_size[1]: 9 is not valid")]
    [InlineData("default_priority_level: 1", "dynamic_batching.default_priority_level: must be 0 when priority_levels is 0")]
    [InlineData("priority_levels: 2", "dynamic_batching.default_priority_level: 0 is not valid; it must be in 1..priority_levels (2)")]
    [InlineData("priority_levels: 2 default_priority_level: 3", "dynamic_batching.default_priority_level: 3 is not valid")]
    [InlineData("priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 3 value { } }", "dynamic_batching.priority_queue_policy[3]: priority level 3 is not in 1..priority_levels (2)")]
    [InlineData("priority_queue_policy { key: 1 value { } }", "dynamic_batching.priority_queue_policy: requires priority_levels > 0")]
    [InlineData("default_queue_policy { timeout_action: 7 }", "")]
    public void DynamicBatchingErrors_NameTheField(string batching, string expected)
    {
        var parsed = PbtxtParser.ParseModelConfig(
            $"name: \"m\" max_batch_size: 8 input {{ name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] }} dynamic_batching {{ {batching} }}", File);
        if (expected.Length == 0)
        {
            // An unknown enum number is already rejected by the parser.
            Assert.False(parsed.IsSuccess);
            return;
        }
        Assert.StartsWith($"{File}: {expected}", Error(parsed.Value!));
    }

    [Theory]
    [InlineData("name: \"\" batch_size: 1 inputs { key: \"x\" value { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } }", "model_warmup[0].name: must be set")]
    [InlineData("name: \"w\" batch_size: 2 inputs { key: \"x\" value { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } }", "model_warmup[0].batch_size: 2 is not valid; it must be in 1..1")]
    [InlineData("name: \"w\" batch_size: 1 inputs { key: \"q\" value { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } }", "model_warmup[0].inputs[\"q\"]: 'q' is not an input of model 'm'")]
    [InlineData("name: \"w\" batch_size: 1 inputs { key: \"x\" value { data_type: TYPE_INT32 dims: [ 4 ] zero_data: true } }", "model_warmup[0].inputs[\"x\"].data_type: is TYPE_INT32 but input 'x' is TYPE_FP32")]
    [InlineData("name: \"w\" batch_size: 1 inputs { key: \"x\" value { data_type: TYPE_FP32 dims: [ 5 ] zero_data: true } }", "model_warmup[0].inputs[\"x\"].dims: [5] does not fit input 'x' dims [4]")]
    [InlineData("name: \"w\" batch_size: 1 inputs { key: \"x\" value { data_type: TYPE_FP32 dims: [ 4 ] } }", "model_warmup[0].inputs[\"x\"]: must set one of zero_data, random_data or input_data_file")]
    [InlineData("name: \"w\" batch_size: 1", "model_warmup[0].inputs: has no sample for required input 'x'")]
    public void WarmupErrors_NameTheField(string warmup, string expected) =>
        Assert.StartsWith($"{File}: {expected}", Error(With($"model_warmup {{ {warmup} }}")));
}
