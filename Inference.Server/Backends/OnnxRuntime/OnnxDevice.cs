namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>The kind of device an instance is placed on (Triton's KIND_CPU / KIND_GPU).</summary>
public enum OnnxDeviceKind
{
    Cpu,
    Gpu,
}

/// <summary>Where an instance runs: the CPU, or GPU <see cref="DeviceId"/>. Prints as "cpu" or "gpu:N"
/// (<see cref="Scheduling.IModelInstance.Device"/>).</summary>
public readonly record struct OnnxDevice(OnnxDeviceKind Kind, int DeviceId)
{
    public static OnnxDevice Cpu => new(OnnxDeviceKind.Cpu, 0);

    public static OnnxDevice Gpu(int deviceId) => new(OnnxDeviceKind.Gpu, deviceId);

    public override string ToString() => Kind == OnnxDeviceKind.Cpu ? "cpu" : $"gpu:{DeviceId}";
}
