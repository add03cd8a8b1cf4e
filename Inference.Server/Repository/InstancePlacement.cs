using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>Where an instance group's instances run: <c>count</c> on the CPU for KIND_CPU (and, until GPU
/// detection lands, KIND_AUTO / KIND_MODEL), <c>count</c> per listed GPU for KIND_GPU (GPU 0 when none is listed).</summary>
public static class InstancePlacement
{
    public static IEnumerable<OnnxDevice> Devices(ModelInstanceGroup group)
    {
        var count = Math.Max(group.Count, 1);
        if (group.Kind != ModelInstanceGroup.Types.Kind.Gpu)
        {
            return Enumerable.Repeat(OnnxDevice.Cpu, count);
        }
        IEnumerable<int> gpus = group.Gpus.Count > 0 ? group.Gpus : [0];
        return gpus.SelectMany(id => Enumerable.Repeat(OnnxDevice.Gpu(id), count));
    }
}
