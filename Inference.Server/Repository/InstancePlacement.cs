using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.Protos;
using Microsoft.Extensions.Logging;
using Kind = Inference.Server.Protos.ModelInstanceGroup.Types.Kind;

namespace Inference.Server.Repository;

/// <summary>One instance group of the effective config, placed: its instances' devices, and why it fell back to
/// the CPU (null when it did not).</summary>
public sealed record PlacedGroup(int Index, string Name, IReadOnlyList<OnnxDevice> Devices, string? FallbackReason);

/// <summary>
/// Where an instance group's instances run, as Triton places them: <c>count</c> on the CPU for KIND_CPU; <c>count</c>
/// per listed GPU (GPU 0 when none is listed) for KIND_GPU, which fails to load with the probe's message (naming the
/// missing CUDA, cuDNN or TensorRT library, or the absent device) when a GPU cannot be used. A group that the model's
/// own config left KIND_AUTO goes to the GPUs when they can be used and otherwise falls back to the CPU: its effective
/// kind becomes KIND_CPU (listed gpus cleared) and the config parameter <see cref="FallbackParameterKey"/> says which
/// group fell back and why, so the model's config endpoint shows it.
/// </summary>
public static partial class InstancePlacement
{
    /// <summary>The model config parameter that records CPU fallbacks: "group: reason", several joined by "; ".</summary>
    public const string FallbackParameterKey = "instance_group_fallback";

    /// <summary>The devices of <paramref name="group"/> as its kind says, without probing (KIND_AUTO and KIND_MODEL
    /// on the CPU).</summary>
    public static IEnumerable<OnnxDevice> Devices(ModelInstanceGroup group)
    {
        var count = Math.Max(group.Count, 1);
        if (group.Kind != Kind.Gpu)
        {
            return Enumerable.Repeat(OnnxDevice.Cpu, count);
        }
        IEnumerable<int> gpus = group.Gpus.Count > 0 ? group.Gpus : [0];
        return gpus.SelectMany(id => Enumerable.Repeat(OnnxDevice.Gpu(id), count));
    }

    /// <summary>Indices of the groups that <paramref name="modelConfig"/> (the model's own config, before
    /// auto-complete) leaves KIND_AUTO; empty when it has none or lists no groups.</summary>
    public static IReadOnlySet<int> AutoGroups(ModelConfig? modelConfig) =>
        modelConfig is null
            ? new HashSet<int>()
            : Enumerable.Range(0, modelConfig.InstanceGroup.Count).Where(i => modelConfig.InstanceGroup[i].Kind == Kind.Auto).ToHashSet();

    /// <summary>
    /// Places every group of <paramref name="config"/> (the effective config; groups in <paramref name="autoGroups"/>
    /// may fall back, which edits <paramref name="config"/> as described on the class). <paramref name="probe"/>
    /// answers null when GPU <c>id</c> can be used (with TensorRT when asked), else why not: <see cref="GpuProbe.Check"/>.
    /// </summary>
    public static Result<IReadOnlyList<PlacedGroup>> Place(
        ModelConfig config, IReadOnlySet<int> autoGroups, bool tensorRt, Func<int, bool, InferenceError?> probe)
    {
        var placed = new List<PlacedGroup>();
        var notes = new List<string>();
        for (var i = 0; i < config.InstanceGroup.Count; i++)
        {
            var group = config.InstanceGroup[i];
            var name = string.IsNullOrEmpty(group.Name) ? $"{config.Name}_{i}" : group.Name;
            var auto = autoGroups.Contains(i);
            if (!auto && group.Kind != Kind.Gpu)
            {
                placed.Add(new PlacedGroup(i, name, [.. Devices(group)], null));
                continue;
            }
            IEnumerable<int> gpus = group.Gpus.Count > 0 ? group.Gpus : [0];
            var unavailable = gpus.Select(id => probe(id, tensorRt)).FirstOrDefault(e => e is not null);
            if (unavailable is null)
            {
                group.Kind = Kind.Gpu;
                placed.Add(new PlacedGroup(i, name, [.. Devices(group)], null));
                continue;
            }
            if (!auto)
            {
                return unavailable with { Message = $"instance_group '{name}' is KIND_GPU: {unavailable.Message}" };
            }
            var reason = $"KIND_AUTO placed on KIND_CPU: {unavailable.Message}";
            group.Kind = Kind.Cpu;
            group.Gpus.Clear();
            notes.Add($"{name}: {reason}");
            placed.Add(new PlacedGroup(i, name, [.. Devices(group)], reason));
        }
        if (notes.Count > 0)
        {
            config.Parameters[FallbackParameterKey] = new ModelParameter { StringValue = string.Join("; ", notes) };
        }
        return placed;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Model '{Model}' instance group '{Group}' ({Instances} instance(s)) falls back to the CPU: {Reason}")]
    public static partial void LogGpuFallback(ILogger logger, string model, string group, int instances, string reason);
}
