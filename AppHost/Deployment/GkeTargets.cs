namespace AspireInference.AppHost.Deployment;

/// <summary>
/// Where the inference pods run: one kustomize overlay each. GPU targets request one <c>nvidia.com/gpu</c> (request =
/// limit) and land on nodes of that accelerator (<c>cloud.google.com/gke-accelerator</c>); CPU and memory requests are
/// sized to what the node shape leaves allocatable next to GKE's system pods.
/// </summary>
/// <param name="Name">Overlay folder name under <c>overlays/</c>.</param>
/// <param name="Accelerator">GKE accelerator label value, or null for CPU-only nodes.</param>
/// <param name="Autopilot">GKE Autopilot: the <c>Accelerator</c> compute class provisions the node; no toleration needed.</param>
/// <param name="Cpu">CPU request (cores).</param>
/// <param name="Memory">Memory request and limit.</param>
/// <param name="NodeShape">What the README names as the node pool's machine type.</param>
internal sealed record GkeTarget(string Name, string? Accelerator, bool Autopilot, string Cpu, string Memory, string NodeShape)
{
    public bool HasGpu => Accelerator is not null;
}

internal static class GkeTargets
{
    /// <summary>The seed's node: n1-standard-8 with one T4 (about 7.9 allocatable cores, 28 GiB).</summary>
    public static readonly GkeTarget StandardT4 = new("standard-t4", "nvidia-tesla-t4", false, "6", "16Gi", "n1-standard-8 + 1 nvidia-tesla-t4");

    /// <summary>g2-standard-8: one L4 per 8 vCPUs.</summary>
    public static readonly GkeTarget StandardL4 = new("standard-l4", "nvidia-l4", false, "6", "24Gi", "g2-standard-8 (1 nvidia-l4)");

    /// <summary>a3-highgpu-1g: one H100 80GB with 26 vCPUs.</summary>
    public static readonly GkeTarget StandardH100 = new("standard-h100", "nvidia-h100-80gb", false, "20", "160Gi", "a3-highgpu-1g (1 nvidia-h100-80gb)");

    /// <summary>Autopilot with an L4 from the Accelerator compute class (limits equal requests there).</summary>
    public static readonly GkeTarget AutopilotL4 = new("autopilot-l4", "nvidia-l4", true, "6", "24Gi", "Autopilot, Accelerator compute class, 1 nvidia-l4");

    /// <summary>No GPU: the CPU execution provider, on any node pool.</summary>
    public static readonly GkeTarget Cpu = new("cpu", null, false, "3", "8Gi", "any node pool, e.g. e2-standard-4");

    public static readonly IReadOnlyList<GkeTarget> All = [StandardT4, StandardL4, StandardH100, AutopilotL4, Cpu];

    public static GkeTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
