using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Tests.ModelTools;
using static Inference.Tests.Backends.TestModels;

namespace Inference.Tests.Backends;

public sealed class OnnxRuntimeBackendTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CreateInstance_StringTensors_AreRefusedAsUnsupported()
    {
        var path = _temp.Combine("s.onnx");
        WriteIdentity(path, DataType.Bytes, "batch", 1);

        var result = OnnxRuntimeBackend.CreateInstance("s_0", path, Config("s", 4), OnnxSessionSettings.Default, OnnxDevice.Cpu);

        Assert.Equal(ErrorCode.Unsupported, result.Error?.Code);
        Assert.Contains("BYTES", result.Error!.Message);
    }

    [Fact]
    public void CreateInstance_ConfigDataTypeDiffersFromModel_IsInvalidArgument()
    {
        var path = _temp.Combine("f.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 2);

        var result = OnnxRuntimeBackend.CreateInstance("f_0", path,
            Config("f", 4, ("x", DataType.Int32, [2], false)), OnnxSessionSettings.Default, OnnxDevice.Cpu);

        Assert.Equal(ErrorCode.InvalidArgument, result.Error?.Code);
        Assert.Contains("TYPE_INT32", result.Error!.Message);
    }

    [Fact]
    public void CreateInstance_UnknownConfigInput_IsInvalidArgument()
    {
        var path = _temp.Combine("f.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 2);

        var result = OnnxRuntimeBackend.CreateInstance("f_0", path,
            Config("f", 4, ("nope", DataType.Fp32, [2], false)), OnnxSessionSettings.Default, OnnxDevice.Cpu);

        Assert.Equal(ErrorCode.InvalidArgument, result.Error?.Code);
        Assert.Contains("'x'", result.Error!.Message);
    }

    [Fact]
    public void CreateInstance_BatchingConfigForModelWithFixedFirstDim_IsInvalidArgument()
    {
        var path = _temp.Combine("fixed.onnx");
        WriteIdentity(path, DataType.Fp32, 1, 2);

        var result = OnnxRuntimeBackend.CreateInstance("f_0", path, Config("f", 4), OnnxSessionSettings.Default, OnnxDevice.Cpu);

        Assert.Equal(ErrorCode.InvalidArgument, result.Error?.Code);
        Assert.Contains("batch", result.Error!.Message);
    }

    [Fact]
    public void CreateInstance_MissingOrCorruptFile_IsAnError()
    {
        var missing = OnnxRuntimeBackend.CreateInstance("m_0", _temp.Combine("none.onnx"), Config("m", 0), OnnxSessionSettings.Default, OnnxDevice.Cpu);
        File.WriteAllText(_temp.Combine("bad.onnx"), "not a model");
        var corrupt = OnnxRuntimeBackend.CreateInstance("m_0", _temp.Combine("bad.onnx"), Config("m", 0), OnnxSessionSettings.Default, OnnxDevice.Cpu);

        Assert.Equal(ErrorCode.InvalidArgument, missing.Error?.Code);
        Assert.Equal(ErrorCode.Internal, corrupt.Error?.Code);
    }

    [Fact]
    public void CreateInstance_OnGpuWithoutCuda_SaysTheCudaProviderIsNotAvailable()
    {
        var path = _temp.Combine("g.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 2);

        var result = OnnxRuntimeBackend.CreateInstance("g_0", path, Config("g", 4), OnnxSessionSettings.Default, OnnxDevice.Gpu(0));

        if (result.IsSuccess)
        {
            result.Value!.Dispose();
            Assert.Skip("the CUDA execution provider loads on this machine");
        }
        Assert.Equal(ErrorCode.Unsupported, result.Error!.Code);
        Assert.StartsWith("CUDA execution provider not available: ", result.Error.Message);
    }
}
