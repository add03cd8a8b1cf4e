using System.Text.Json.Nodes;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.ModelTools;
using Inference.Server.Repository;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.Logging.Abstractions;
using static Inference.Tests.Backends.TestModels;

namespace Inference.Tests.Backends;

/// <summary>
/// GPU placement on a machine where CUDA cannot be used (this one, CI): the real probe, the real ONNX Runtime
/// CUDA/TensorRT providers failing to load, KIND_GPU refused with the missing library named, KIND_AUTO falling back
/// to the CPU visibly (config endpoint, statistics). Skipped where a GPU is usable.
/// </summary>
public sealed class GpuPlacementTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _temp.Dispose();

    private static void SkipWhereGpuWorks() => Assert.SkipWhen(GpuProbe.Available, "a CUDA GPU is usable on this machine");

    /// <summary>ONNX Runtime's loader names the shared library it could not open ("libxyz.so...").</summary>
    private static void AssertNamesALibrary(string message) =>
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(message, @"missing library: lib[\w.+-]+\.so"), $"no library named in: {message}");

    [Fact]
    public void Probe_WithoutCuda_SaysWhichLibraryIsMissing()
    {
        SkipWhereGpuWorks();

        var error = GpuProbe.Check(0, tensorRt: false);

        Assert.Equal(ErrorCode.Unsupported, error?.Code);
        Assert.StartsWith("CUDA execution provider not available: ", error!.Message);
        AssertNamesALibrary(error.Message);
    }

    [Fact]
    public void CreateInstance_OnGpuWithoutCuda_IsUnsupportedNamingTheLibrary()
    {
        SkipWhereGpuWorks();
        var path = _temp.Combine("i.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 4);

        var result = OnnxRuntimeBackend.CreateInstance("i_0", path, Config("i", 8), OnnxSessionSettings.Default, OnnxDevice.Gpu(0));

        Assert.Equal(ErrorCode.Unsupported, result.Error?.Code);
        AssertNamesALibrary(result.Error!.Message);
    }

    [Fact]
    public void Configure_TensorRtWithoutItsLibraries_IsUnsupportedNamingTheProvider()
    {
        SkipWhereGpuWorks();
        var config = Config("t", 8);
        config.Optimization = new Inference.Server.Protos.ModelOptimizationPolicy
        {
            ExecutionAccelerators = new() { GpuExecutionAccelerator = { new Inference.Server.Protos.ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator { Name = "tensorrt" } } },
        };
        var accelerators = OnnxAcceleratorSettings.FromConfig(config).Value!;
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions();

        var error = OnnxExecutionProviders.Configure(options, OnnxDevice.Gpu(0), accelerators);

        Assert.Equal(ErrorCode.Unsupported, error?.Code);
        Assert.StartsWith("TensorRT execution provider not available: ", error!.Message);
        AssertNamesALibrary(error.Message);
    }

    [Fact]
    public void CreateInstance_OnCpuWithGpuAccelerators_IgnoresThemAndRuns()
    {
        var path = _temp.Combine("c.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 4);
        var config = Config("c", 8);
        var parsed = PbtxtParser.ParseModelConfig(
            "optimization { cuda { graphs: true } execution_accelerators { gpu_execution_accelerator [ { name: \"cuda\" parameters { key: \"prefer_nhwc\" value: \"1\" } } ] } }",
            "config.pbtxt").Value!;
        config.Optimization = parsed.Optimization;
        var settings = OnnxSessionSettings.FromConfig(config).Value!;

        var result = OnnxRuntimeBackend.CreateInstance("c_0", path, config, settings, OnnxDevice.Cpu);

        Assert.True(result.IsSuccess, result.Error?.Message);
        using var instance = Assert.IsType<OnnxRuntimeInstance>(result.Value);
        Assert.False(instance.UsesGpuIoBinding);
        Assert.Equal("cpu", instance.Device);
    }

    [Fact]
    public async Task Load_KindGpuWithoutCuda_FailsNamingTheGroupAndLibrary()
    {
        SkipWhereGpuWorks();
        WriteModel("gpu_model", "instance_group [ { name: \"gpus\" kind: KIND_GPU count: 1 } ]");

        var result = await Loader().LoadAsync("gpu_model", null, Ct);

        Assert.Empty(result.Ready);
        Assert.Equal(ErrorCode.Unsupported, result.Error?.Code);
        Assert.Contains("instance_group 'gpus' is KIND_GPU: CUDA execution provider not available", result.Error!.Message);
        AssertNamesALibrary(result.Error.Message);
    }

    [Fact]
    public async Task Load_KindAutoWithoutCuda_FallsBackToCpuVisiblyInConfigAndStatistics()
    {
        SkipWhereGpuWorks();
        WriteModel("auto_model", "instance_group [ { name: \"auto\" kind: KIND_AUTO count: 2 gpus: [ 0 ] }, { name: \"cpu\" kind: KIND_CPU count: 1 } ]");

        var result = await Loader().LoadAsync("auto_model", null, Ct);

        var version = Assert.Single(result.Ready);
        try
        {
            var auto = version.Config.InstanceGroup[0];
            Assert.Equal((Inference.Server.Protos.ModelInstanceGroup.Types.Kind.Cpu, 0), (auto.Kind, auto.Gpus.Count));
            var note = version.Config.Parameters[InstancePlacement.FallbackParameterKey].StringValue;
            Assert.StartsWith("auto: KIND_AUTO placed on KIND_CPU: CUDA execution provider not available", note);
            Assert.DoesNotContain("cpu:", note);
            Assert.Equal(["cpu", "cpu", "cpu"], version.Instances.Select(i => i.Device));
            Assert.Equal(2, version.Statistics.GpuFallbackInstanceCount);
        }
        finally
        {
            foreach (var v in result.Ready)
            {
                foreach (var i in v.Instances)
                {
                    i.Dispose();
                }
            }
        }
    }

    [Fact]
    public async Task ConfigEndpoint_KindAutoWithoutCuda_ShowsTheEffectiveCpuKindAndTheFallback()
    {
        SkipWhereGpuWorks();
        WriteModel("auto_http", "instance_group [ { kind: KIND_AUTO count: 1 } ]");
        await using var server = await ServerHost.StartAsync(_temp.Path);

        var config = JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/auto_http/config", Ct))!;

        Assert.Equal("KIND_CPU", config["instance_group"]![0]!["kind"]!.GetValue<string>());
        var note = config["parameters"]![InstancePlacement.FallbackParameterKey]!["string_value"]!.GetValue<string>();
        Assert.StartsWith("auto_http_0: KIND_AUTO placed on KIND_CPU: ", note);
        AssertNamesALibrary(note);
    }

    private ModelVersionLoader Loader() => new(new ModelRepository(_temp.Path), TimeProvider.System, NullLoggerFactory.Instance);

    private void WriteModel(string name, string instanceGroups)
    {
        var folder = IdentityModelBuilder.Write(_temp.Path, name, width: 4, maxBatchSize: 8);
        var configPath = Path.Combine(folder, "config.pbtxt");
        var text = File.ReadAllText(configPath);
        var start = text.IndexOf("instance_group", StringComparison.Ordinal);
        var end = text.IndexOf('\n', start);
        File.WriteAllText(configPath, text[..start] + instanceGroups + text[end..]);
    }
}
