using Inference.Server.Protos;
using Inference.Server.Repository;
using ConfigDataType = Inference.Server.Protos.DataType;

namespace Inference.Tests.Repository;

public class PbtxtParserTests
{
    private static ModelConfig Parse(string text)
    {
        var r = PbtxtParser.ParseModelConfig(text, "config.pbtxt");
        Assert.True(r.IsSuccess, r.Error?.Message);
        return r.Value!;
    }

    private static string ParseError(string text, string file = "models/m/config.pbtxt")
    {
        var r = PbtxtParser.ParseModelConfig(text, file);
        Assert.False(r.IsSuccess, "expected a parse error");
        return r.Error!.Message;
    }

    [Fact]
    public void Scalars_OfEveryKind_AreParsed()
    {
        var c = Parse("""
            name: "a\tb\"c\\d" max_batch_size: 16
            default_model_filename: 'single \'quoted\''
            optimization { gather_kernel_buffer_threshold: 0x10 eager_batching: true }
            """);
        Assert.Equal("a\tb\"c\\d", c.Name);
        Assert.Equal(16, c.MaxBatchSize);
        Assert.Equal("single 'quoted'", c.DefaultModelFilename);
        Assert.Equal(16u, c.Optimization.GatherKernelBufferThreshold);
        Assert.True(c.Optimization.EagerBatching);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("t", true)]
    [InlineData("1", true)]
    [InlineData("false", false)]
    [InlineData("f", false)]
    [InlineData("0", false)]
    public void Bools_AcceptTextFormatSpellings(string text, bool expected) =>
        Assert.Equal(expected, Parse($"response_cache {{ enable: {text} }}").ResponseCache.Enable);

    [Fact]
    public void NegativeNumbers_AndOctalAndHex_AreParsed()
    {
        var c = Parse("input { name: \"x\" dims: [ -1, 010, 0x1F ] } optimization { graph { level: -1 } }");
        Assert.Equal([-1L, 8L, 31L], c.Input[0].Dims);
        Assert.Equal(-1, c.Optimization.Graph.Level);
    }

    [Fact]
    public void Floats_AcceptExponentsSuffixesAndInfinity()
    {
        var c = Parse("""
            sequence_batching {
              direct { minimum_slot_utilization: 2.5e-1f }
              control_input { name: "c" control { fp32_false_true: [ -1.5, inf, 1E3 ] } }
            }
            model_metrics { metric_control { histogram_options { buckets: [ .5, -inf, nan ] } } }
            """);
        Assert.Equal(0.25f, c.SequenceBatching.Direct.MinimumSlotUtilization);
        Assert.Equal([-1.5f, float.PositiveInfinity, 1000f], c.SequenceBatching.ControlInput[0].Control[0].Fp32FalseTrue);
        var buckets = c.ModelMetrics.MetricControl[0].HistogramOptions.Buckets;
        Assert.Equal(0.5, buckets[0]);
        Assert.Equal(double.NegativeInfinity, buckets[1]);
        Assert.True(double.IsNaN(buckets[2]));
    }

    [Fact]
    public void StringEscapes_OctalHexAndUnicode_AreDecoded()
    {
        var c = Parse("name: \"\\101\\x42\\u00e9\\n\" \" concat\"");
        Assert.Equal("AB\u00e9\n concat", c.Name);
    }

    [Fact]
    public void Enums_ByNameAndByNumber_AreParsed()
    {
        var c = Parse("input { name: \"a\" data_type: TYPE_FP32 } input { name: \"b\" data_type: 8 } instance_group { kind: KIND_GPU }");
        Assert.Equal(ConfigDataType.TypeFp32, c.Input[0].DataType);
        Assert.Equal(ConfigDataType.TypeInt32, c.Input[1].DataType);
        Assert.Equal(ModelInstanceGroup.Types.Kind.Gpu, c.InstanceGroup[0].Kind);
    }

    [Fact]
    public void NestedMessages_AcceptBracesAnglesAndOptionalColon()
    {
        var c = Parse("version_policy: < specific: { versions: [1, 3] } > response_cache { enable: true }");
        Assert.Equal([1L, 3L], c.VersionPolicy.Specific.Versions);
        Assert.True(c.ResponseCache.Enable);
    }

    [Fact]
    public void RepeatedFields_AcceptRepeatedEntriesListsAndMessageLists()
    {
        var c = Parse("""
            input { name: "a" dims: 1 dims: 2 }
            input [ { name: "b" dims: [] }, { name: "c" } ]
            input: [ < name: "d" > ]
            """);
        Assert.Equal(["a", "b", "c", "d"], c.Input.Select(i => i.Name));
        Assert.Equal([1L, 2L], c.Input[0].Dims);
        Assert.Empty(c.Input[1].Dims);
    }

    [Fact]
    public void Maps_WithStringAndIntegerKeysAndMessageValues_AreParsed()
    {
        var c = Parse("""
            parameters { key: "x" value { string_value: "y" } }
            parameters [ { key: "z", value: { string_value: "w" } } ]
            metric_tags { key: "team" value: "vision" }
            dynamic_batching { priority_levels: 3 priority_queue_policy { key: 2 value { max_queue_size: 7 } } }
            """);
        Assert.Equal("y", c.Parameters["x"].StringValue);
        Assert.Equal("w", c.Parameters["z"].StringValue);
        Assert.Equal("vision", c.MetricTags["team"]);
        Assert.Equal(7u, c.DynamicBatching.PriorityQueuePolicy[2].MaxQueueSize);
    }

    [Fact]
    public void Oneofs_SetTheirCase()
    {
        var c = Parse("version_policy { all { } } dynamic_batching { }");
        Assert.Equal(ModelVersionPolicy.PolicyChoiceOneofCase.All, c.VersionPolicy.PolicyChoiceCase);
        Assert.Equal(ModelConfig.SchedulingChoiceOneofCase.DynamicBatching, c.SchedulingChoiceCase);
    }

    [Fact]
    public void CommentsAndSeparators_AreIgnored()
    {
        var c = Parse("# header\nname: \"m\"; # trailing\nmax_batch_size: 4,\n# end");
        Assert.Equal("m", c.Name);
        Assert.Equal(4, c.MaxBatchSize);
    }

    [Fact]
    public void EmptyText_GivesAnEmptyConfig() => Assert.Equal(new ModelConfig(), Parse("  # nothing\n"));

    [Fact]
    public void RealisticConfig_IsParsedCompletely()
    {
        var c = Parse(SampleConfigs.Resnet);
        Assert.Equal("resnet50", c.Name);
        Assert.Equal(2u, c.VersionPolicy.Latest.NumVersions);
        Assert.Equal([3L, 224L, 224L], c.Input[0].Dims);
        Assert.Equal(ModelInput.Types.Format.Nchw, c.Input[0].Format);
        Assert.Equal("labels.txt", c.Output[0].LabelFilename);
        Assert.Equal([0, 1], c.InstanceGroup[0].Gpus);
        Assert.Equal("cpu_group", c.InstanceGroup[1].Name);
        Assert.Equal([4, 8], c.DynamicBatching.PreferredBatchSize);
        Assert.Equal(ModelQueuePolicy.Types.TimeoutAction.Delay, c.DynamicBatching.PriorityQueuePolicy[1].TimeoutAction);
        Assert.Equal(64u, c.DynamicBatching.DefaultQueuePolicy.MaxQueueSize);
        var trt = c.Optimization.ExecutionAccelerators.GpuExecutionAccelerator[0];
        Assert.Equal("tensorrt", trt.Name);
        Assert.Equal("FP16", trt.Parameters["precision_mode"]);
        Assert.Equal("0", c.Parameters["execution_mode"].StringValue);
        Assert.True(c.ModelWarmup[0].Inputs["input"].ZeroData);
    }

    [Fact]
    public void UnknownField_IsReportedWithFileLineColumnAndMessageType()
    {
        var text = "name: \"resnet50\"\n\n    max_batch_sizee: 8\n";
        Assert.Equal("models/m/config.pbtxt:3:5: unknown field 'max_batch_sizee' in inference.ModelConfig", ParseError(text));
    }

    [Fact]
    public void UnknownNestedField_NamesTheFieldPath()
    {
        var text = "input { name: \"a\" }\ninput {\n  name: \"b\"\n  dimz: [1]\n}";
        Assert.Equal("models/m/config.pbtxt:4:3: unknown field 'dimz' in inference.ModelInput (at 'input[1]')", ParseError(text));
    }

    [Fact]
    public void BadEnumValue_IsReportedWithFieldPathAndChoices()
    {
        var message = ParseError("input {\n  data_type: TYPE_FP33\n}");
        Assert.StartsWith("models/m/config.pbtxt:2:14: invalid value 'TYPE_FP33' for enum field 'input[0].data_type' (inference.DataType); expected one of TYPE_INVALID,", message);
    }

    [Fact]
    public void UnknownEnumNumber_IsAnError() =>
        Assert.Contains("invalid value '99' for enum field 'instance_group[0].kind'", ParseError("instance_group { kind: 99 }"));

    [Theory]
    [InlineData("max_batch_size: \"8\"", "1:17: field 'max_batch_size' (int32) expects an integer but found string \"8\"")]
    [InlineData("max_batch_size: 1.5", "1:17: field 'max_batch_size' (int32) expects an integer but found '1.5'")]
    [InlineData("name: 5", "1:7: field 'name' (string) expects a string but found '5'")]
    [InlineData("response_cache { enable: yes }", "1:26: field 'response_cache.enable' (bool) expects true or false but found 'yes'")]
    [InlineData("max_batch_size: 3000000000", "1:17: value 3000000000 is out of range for field 'max_batch_size' (int32)")]
    [InlineData("optimization { gather_kernel_buffer_threshold: -1 }", "1:48: value -1 is out of range for field 'optimization.gather_kernel_buffer_threshold' (uint32)")]
    public void TypeMismatch_IsReportedWithPosition(string text, string expected) =>
        Assert.Equal("models/m/config.pbtxt:" + expected, ParseError(text));

    [Fact]
    public void UnterminatedString_IsReported() =>
        Assert.Equal("models/m/config.pbtxt:2:7: unterminated string literal", ParseError("max_batch_size: 1\nname: \"abc\nx"));

    [Fact]
    public void UnterminatedBrace_NamesWhereItOpened() =>
        Assert.Equal(
            "models/m/config.pbtxt:4:1: unterminated '{' opened at 2:7 for 'input[0]'",
            ParseError("name: \"m\"\ninput {\n  name: \"x\"\n"));

    [Fact]
    public void UnterminatedList_IsReported() =>
        Assert.Contains("1:20: unterminated '[' opened at 1:15 for 'input[0].dims'", ParseError("input { dims: [1, 2"));

    [Fact]
    public void MismatchedCloser_IsReported() =>
        Assert.Equal(
            "models/m/config.pbtxt:1:11: expected a field name in inference.ModelInput (at 'input[0]') but found '>'",
            ParseError("input {   >"));

    [Fact]
    public void DuplicateScalarField_IsReported() =>
        Assert.Equal("models/m/config.pbtxt:2:1: non-repeated field 'max_batch_size' is specified more than once", ParseError("max_batch_size: 1\nmax_batch_size: 2"));

    [Fact]
    public void DuplicateMessageField_IsReported() =>
        Assert.Equal(
            "models/m/config.pbtxt:2:1: non-repeated field 'optimization' is specified more than once",
            ParseError("optimization { }\noptimization { }"));

    [Fact]
    public void TwoMembersOfOneOneof_AreReported() =>
        Assert.Contains("field 'sequence_batching' is specified along with 'dynamic_batching', another member of oneof 'scheduling_choice'",
            ParseError("dynamic_batching { }\nsequence_batching { }"));

    [Fact]
    public void ListOnNonRepeatedField_IsReported() =>
        Assert.Contains("1:17: field 'max_batch_size' is not repeated; a list is not allowed", ParseError("max_batch_size: [1]"));

    [Fact]
    public void MissingColonBeforeScalar_IsReported() =>
        Assert.Contains("1:16: expected ':' after field 'max_batch_size' but found '4'", ParseError("max_batch_size 4"));

    [Fact]
    public void DuplicateMapKey_IsReported() =>
        Assert.Contains("2:19: duplicate key \"a\" in map 'parameters'",
            ParseError("parameters { key: \"a\" value { } }\nparameters { key: \"a\" value { } }"));

    [Fact]
    public void BadEscape_IsReported() =>
        Assert.Contains("1:9: invalid escape sequence '\\q'", ParseError("name: \"a\\q\""));

    [Fact]
    public void UnexpectedCharacter_IsReported() =>
        Assert.Equal("models/m/config.pbtxt:1:16: unexpected character '='", ParseError("max_batch_size = 4"));
}
