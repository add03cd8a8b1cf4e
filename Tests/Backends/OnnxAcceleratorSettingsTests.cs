using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.Repository;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Tests.Backends;

public sealed class OnnxAcceleratorSettingsTests
{
    private static ModelConfig Parse(string text)
    {
        var parsed = PbtxtParser.ParseModelConfig("name: \"m\" max_batch_size: 256\n" + text, "config.pbtxt");
        Assert.True(parsed.IsSuccess, parsed.Error?.Message);
        return parsed.Value!;
    }

    private static OnnxAcceleratorSettings Read(string text)
    {
        var result = OnnxAcceleratorSettings.FromConfig(Parse(text));
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    private static InferenceError Fail(string text)
    {
        var result = OnnxAcceleratorSettings.FromConfig(Parse(text));
        Assert.False(result.IsSuccess);
        return result.Error!;
    }

    private const string Trt = "optimization { execution_accelerators { gpu_execution_accelerator [ { name: \"tensorrt\" {0} } ] } }";

    private static string TrtWith(string parameters) => Trt.Replace("{0}", parameters, StringComparison.Ordinal);

    private static string CudaWith(string parameters) =>
        "optimization { execution_accelerators { gpu_execution_accelerator [ { name: \"cuda\" " + parameters + " } ] } }";

    [Fact]
    public void FromConfig_NothingConfigured_IsNone()
    {
        Assert.Same(OnnxAcceleratorSettings.None, Read(""));
        Assert.False(OnnxAcceleratorSettings.None.UsesTensorRt);
        Assert.False(OnnxAcceleratorSettings.None.CudaGraphs);
    }

    [Theory]
    [InlineData("FP32", "0", "0")]
    [InlineData("FP16", "1", "0")]
    [InlineData("INT8", "1", "1")]
    public void FromConfig_TensorRtPrecisionMode_SetsOnnxRuntimeFlags(string precision, string fp16, string int8)
    {
        var s = Read(TrtWith($"parameters {{ key: \"precision_mode\" value: \"{precision}\" }}"));

        Assert.True(s.UsesTensorRt);
        Assert.Equal((fp16, int8), (s.TensorRtOptionsOrNull!["trt_fp16_enable"], s.TensorRtOptionsOrNull["trt_int8_enable"]));
    }

    [Fact]
    public void FromConfig_TensorRtTritonKeys_MapToOnnxRuntimeOptionNames()
    {
        var s = Read(TrtWith(
            "parameters { key: \"max_workspace_size_bytes\" value: \"1073741824\" } " +
            "parameters { key: \"trt_engine_cache_enable\" value: \"true\" } " +
            "parameters { key: \"trt_engine_cache_path\" value: \"/tmp/trt\" } " +
            "parameters { key: \"int8_use_native_calibration_table\" value: \"0\" } " +
            "parameters { key: \"trt_auxiliary_streams\" value: \"-1\" }"));

        Assert.Equal(new Dictionary<string, string>
        {
            ["trt_max_workspace_size"] = "1073741824",
            ["trt_engine_cache_enable"] = "1",
            ["trt_engine_cache_path"] = "/tmp/trt",
            ["trt_int8_use_native_calibration_table"] = "0",
            ["trt_auxiliary_streams"] = "-1",
        }, s.TensorRtOptionsOrNull!.ToDictionary());
    }

    [Theory]
    [InlineData("precision_mode", "FP8", "'precision_mode' must be FP32, FP16 or INT8, got 'FP8'")]
    [InlineData("max_workspace_size_bytes", "1GB", "'max_workspace_size_bytes' must be an integer >= 0, got '1GB'")]
    [InlineData("trt_engine_cache_enable", "yes", "'trt_engine_cache_enable' must be 0/1 or true/false, got 'yes'")]
    [InlineData("trt_engine_cache_path", " ", "'trt_engine_cache_path'")]
    [InlineData("max_workspace_size", "1", "unknown parameter 'max_workspace_size'")]
    public void FromConfig_BadTensorRtParameter_IsAnErrorNamingIt(string key, string value, string expected)
    {
        var error = Fail(TrtWith($"parameters {{ key: \"{key}\" value: \"{value}\" }}"));

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("gpu_execution_accelerator[0]", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void FromConfig_CudaAccelerator_NormalisesOnnxRuntimeOptions()
    {
        var s = Read(CudaWith(
            "parameters { key: \"cudnn_conv_algo_search\" value: \"HEURISTIC\" } " +
            "parameters { key: \"prefer_nhwc\" value: \"true\" } " +
            "parameters { key: \"fuse_conv_bias\" value: \"1\" } " +
            "parameters { key: \"cudnn_conv_use_max_workspace\" value: \"false\" } " +
            "parameters { key: \"gpu_mem_limit\" value: \"8589934592\" }"));

        Assert.Equal(new Dictionary<string, string>
        {
            ["cudnn_conv_algo_search"] = "HEURISTIC",
            ["prefer_nhwc"] = "1",
            ["fuse_conv_bias"] = "1",
            ["cudnn_conv_use_max_workspace"] = "0",
            ["gpu_mem_limit"] = "8589934592",
        }, s.CudaOptions.ToDictionary());
        Assert.False(s.UsesTensorRt);
    }

    [Theory]
    [InlineData("cudnn_conv_algo_serch", "1", "unknown CUDA execution provider option 'cudnn_conv_algo_serch'")]
    [InlineData("cudnn_conv_algo_search", "FASTEST", "cudnn_conv_algo_search must be EXHAUSTIVE, HEURISTIC or DEFAULT")]
    [InlineData("prefer_nhwc", "2", "'prefer_nhwc' must be 0/1 or true/false, got '2'")]
    [InlineData("device_id", "1", "'device_id' is set by the server")]
    [InlineData("user_compute_stream", "1", "'user_compute_stream' is set by the server")]
    public void FromConfig_BadCudaOption_IsAnErrorNamingIt(string key, string value, string expected)
    {
        var error = Fail(CudaWith($"parameters {{ key: \"{key}\" value: \"{value}\" }}"));

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("cudnn_conv_algo_search", "0", "EXHAUSTIVE")]
    [InlineData("cudnn_conv_algo_search", "1", "HEURISTIC")]
    [InlineData("cudnn_conv_algo_search", "2", "DEFAULT")]
    [InlineData("arena_extend_strategy", "1", "kSameAsRequested")]
    [InlineData("do_copy_in_default_stream", "0", "0")]
    [InlineData("gpu_mem_limit", "4294967200", "4294967200")]
    public void FromConfig_TritonsModelParametersForCuda_AreRead(string key, string value, string expected) =>
        Assert.Equal(expected, Read($"parameters {{ key: \"{key}\" value: {{ string_value: \"{value}\" }} }}").CudaOptions[key]);

    [Fact]
    public void FromConfig_BadLegacyParameter_IsAnErrorNamingTheParameter()
    {
        var error = Fail("parameters { key: \"arena_extend_strategy\" value: { string_value: \"2\" } }");

        Assert.Contains("parameter 'arena_extend_strategy'", error.Message);
    }

    [Fact]
    public void FromConfig_UnknownGpuAccelerator_IsAnErrorNamingIt()
    {
        var error = Fail("optimization { execution_accelerators { gpu_execution_accelerator [ { name: \"tensorrt\" }, { name: \"rocm\" } ] } }");

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("gpu_execution_accelerator[1]: unknown accelerator 'rocm'", error.Message);
    }

    [Fact]
    public void FromConfig_OpenVino_IsUnsupportedHere_AndOtherCpuAcceleratorsUnknown()
    {
        var openVino = Fail("optimization { execution_accelerators { cpu_execution_accelerator [ { name: \"openvino\" } ] } }");
        var other = Fail("optimization { execution_accelerators { cpu_execution_accelerator [ { name: \"dnnl\" } ] } }");

        Assert.Equal(ErrorCode.Unsupported, openVino.Code);
        Assert.Contains("'openvino' is not available", openVino.Message);
        Assert.Equal(ErrorCode.InvalidArgument, other.Code);
        Assert.Contains("unknown accelerator 'dnnl'", other.Message);
    }

    [Fact]
    public void FromConfig_CudaGraphsPolicy_EnablesGraphsWithTheListedBatchSizes()
    {
        var s = Read("optimization { cuda { graphs: true graph_spec [ { batch_size: 64 }, { batch_size: 1 }, { batch_size: 8 } ] } }");

        Assert.True(s.CudaGraphs);
        Assert.Equal("1", s.CudaOptions["enable_cuda_graph"]);
        Assert.Equal([1, 8, 64], s.GraphBatchSizes);
    }

    [Theory]
    [InlineData("", GpuSync.Spin)]
    [InlineData("parameters { key: \"gpu_sync\" value: { string_value: \"spin\" } }", GpuSync.Spin)]
    [InlineData("parameters { key: \"gpu_sync\" value: { string_value: \"blocking\" } }", GpuSync.Blocking)]
    public void FromConfig_GpuSync_SpinsByDefault(string parameters, GpuSync expected) =>
        Assert.Equal(expected, Read(parameters).Sync);

    [Fact]
    public void FromConfig_UnknownGpuSync_IsAnErrorNamingTheValues() =>
        Assert.Contains("parameter 'gpu_sync' must be 'spin' or 'blocking', got 'yield'",
            Fail("parameters { key: \"gpu_sync\" value: { string_value: \"yield\" } }").Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("parameters { key: \"fuse_conv_bias\" value: \"1\" }", true)]
    [InlineData("parameters { key: \"fuse_conv_bias\" value: \"0\" }", false)]
    [InlineData("parameters { key: \"prefer_nhwc\" value: \"1\" }", false)]
    public void GraphSessionPerSize_OnlyWithGraphsAndConvBiasFusion(string cudaParameters, bool expected)
    {
        var accelerator = $"execution_accelerators {{ gpu_execution_accelerator [ {{ name: \"cuda\" {cudaParameters} }} ] }}";
        var withGraphs = Read($"optimization {{ {accelerator} cuda {{ graphs: true }} }}");
        var withoutGraphs = Read($"optimization {{ {accelerator} }}");

        Assert.Equal(expected, withGraphs.GraphSessionPerSize);
        Assert.False(withoutGraphs.GraphSessionPerSize);
    }

    [Fact]
    public void FromConfig_EnableCudaGraphOption_EnablesGraphsWithoutSizes()
    {
        var s = Read(CudaWith("parameters { key: \"enable_cuda_graph\" value: \"1\" }"));

        Assert.True(s.CudaGraphs);
        Assert.Empty(s.GraphBatchSizes);
    }

    [Theory]
    [InlineData("optimization { cuda { graph_spec [ { batch_size: 8 } ] } }", "CUDA graphs are not enabled")]
    [InlineData("optimization { cuda { graphs: true graph_spec [ { batch_size: 512 } ] } }", "graph_spec[0].batch_size 512 must be in 1..max_batch_size (256)")]
    [InlineData("optimization { cuda { graphs: true graph_spec [ { batch_size: 0 } ] } }", "graph_spec[0].batch_size 0")]
    [InlineData("optimization { cuda { graphs: true } } parameters { key: \"gpu_io_copy\" value: { string_value: \"ort\" } }", "'gpu_io_copy' must be 'stream'")]
    [InlineData("parameters { key: \"gpu_io_copy\" value: { string_value: \"pcie\" } }", "'gpu_io_copy' must be 'stream' or 'ort', got 'pcie'")]
    [InlineData("optimization { cuda { graphs: true } execution_accelerators { gpu_execution_accelerator [ { name: \"tensorrt\" } ] } }", "trt_cuda_graph_enable")]
    public void FromConfig_InconsistentGraphSettings_AreErrors(string text, string expected)
    {
        var error = Fail(text);

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void FromConfig_GraphSpecWithInputShapes_IsUnsupported()
    {
        var error = Fail("optimization { cuda { graphs: true graph_spec [ { batch_size: 4 input { key: \"x\" value { dim: [ 3 ] } } } ] } }");

        Assert.Equal(ErrorCode.Unsupported, error.Code);
        Assert.Contains("graph_spec[0]", error.Message);
    }

    [Fact]
    public void FromConfig_GpuIoCopyOrt_IsRead() =>
        Assert.Equal(GpuIoCopy.Ort, Read("parameters { key: \"gpu_io_copy\" value: { string_value: \"ort\" } }").IoCopy);

    [Fact]
    public void SessionSettings_FromConfig_CarriesAcceleratorsAndTheirErrors()
    {
        var ok = OnnxSessionSettings.FromConfig(Parse(CudaWith("parameters { key: \"prefer_nhwc\" value: \"1\" }")));
        var bad = OnnxSessionSettings.FromConfig(Parse(CudaWith("parameters { key: \"prefer_nchw\" value: \"1\" }")));

        Assert.Equal("1", ok.Value!.Accelerators.CudaOptions["prefer_nhwc"]);
        Assert.Contains("prefer_nchw", bad.Error!.Message);
    }
}
