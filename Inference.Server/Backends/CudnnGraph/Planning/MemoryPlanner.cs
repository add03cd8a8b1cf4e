namespace Inference.Server.Backends.CudnnGraph.Planning;

/// <summary>
/// One activation tensor's need for device memory: its size and the steps (indexes in execution order) from the
/// one that writes it to the last that reads it, inclusive. A tensor written at step 2 and read by step 3 and by a
/// residual add at step 5 lives over [2, 5].
/// </summary>
/// <param name="Id">The caller's name for the tensor, unique in one plan.</param>
/// <param name="SizeBytes">Bytes the tensor needs; 0 for a tensor that takes no space.</param>
/// <param name="FirstStep">The step that writes it.</param>
/// <param name="LastStep">The last step that reads it (at least <paramref name="FirstStep"/>).</param>
public readonly record struct TensorLifetime(int Id, long SizeBytes, int FirstStep, int LastStep);

/// <summary>
/// Where every activation tensor lives in one device arena: the arena is allocated once, at
/// <see cref="ArenaBytes"/>, and each tensor is the range [offset, offset + size) of it. Tensors whose lifetimes
/// do not intersect may share bytes, so the arena is far smaller than the sum of the tensors.
/// </summary>
/// <param name="Offsets">Byte offset in the arena of each tensor, by <see cref="TensorLifetime.Id"/>; every
/// offset is a multiple of <paramref name="Alignment"/>.</param>
/// <param name="ArenaBytes">Bytes to allocate: the end of the highest tensor, a multiple of <paramref name="Alignment"/>.</param>
/// <param name="Alignment">Alignment in bytes of every offset (a power of two).</param>
public sealed record MemoryPlan(IReadOnlyDictionary<int, long> Offsets, long ArenaBytes, int Alignment)
{
    /// <summary>
    /// The most bytes (sizes rounded up to <see cref="Alignment"/>) live at any one step: no placement can use
    /// a smaller arena, so <see cref="ArenaBytes"/> against it says how much the greedy placement wastes.
    /// </summary>
    public long PeakLiveBytes { get; init; }
}

/// <summary>
/// Plans the activation arena of a compiled model ahead of time, so that running it allocates nothing: the
/// tensors are placed greedily, largest first (ties by <see cref="TensorLifetime.FirstStep"/>, then
/// <see cref="TensorLifetime.Id"/>, so one input always gives one plan), each at the lowest aligned offset where
/// it overlaps no already placed tensor whose lifetime intersects its own. Largest-first keeps the big early
/// activations of a ResNet at the bottom and lets the many small late ones fill the gaps between them.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>Places <paramref name="tensors"/> in one arena.</summary>
    /// <param name="tensors">The tensors in any order; an empty list gives an arena of 0 bytes.</param>
    /// <param name="alignment">Alignment in bytes of every offset, a positive power of two; sizes are rounded up
    /// to it for placement. 256 is cudaMalloc's own alignment.</param>
    /// <exception cref="ArgumentException">The alignment is not a positive power of two, or a tensor has a
    /// negative size, negative steps, a last step before its first, or the Id of another tensor; the message
    /// names the tensor.</exception>
    public static MemoryPlan Plan(IReadOnlyList<TensorLifetime> tensors, int alignment = 256)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Validate(tensors, alignment);

        var offsets = new Dictionary<int, long>(tensors.Count);
        var order = tensors
            .OrderByDescending(t => t.SizeBytes)
            .ThenBy(t => t.FirstStep)
            .ThenBy(t => t.Id)
            .ToArray();

        var placed = new List<(TensorLifetime Tensor, long Offset, long End)>(tensors.Count);
        var conflicts = new List<(long Offset, long End)>();
        long arena = 0;
        foreach (var tensor in order)
        {
            if (tensor.SizeBytes == 0)
            {
                offsets[tensor.Id] = 0;
                continue;
            }

            var size = AlignUp(tensor.SizeBytes, alignment);
            conflicts.Clear();
            foreach (var other in placed)
            {
                if (other.Tensor.FirstStep <= tensor.LastStep && tensor.FirstStep <= other.Tensor.LastStep)
                {
                    conflicts.Add((other.Offset, other.End));
                }
            }
            conflicts.Sort();

            // Lowest gap that fits: offsets and ends are all aligned, so the candidate stays aligned.
            long offset = 0;
            foreach (var (start, end) in conflicts)
            {
                if (checked(offset + size) <= start)
                {
                    break;
                }
                offset = Math.Max(offset, end);
            }

            var tensorEnd = checked(offset + size);
            placed.Add((tensor, offset, tensorEnd));
            offsets[tensor.Id] = offset;
            arena = Math.Max(arena, tensorEnd);
        }

        return new MemoryPlan(offsets, arena, alignment) { PeakLiveBytes = PeakLive(tensors, alignment) };
    }

    /// <summary>The most aligned bytes live at one step: a sweep over the steps where lifetimes start and end.</summary>
    private static long PeakLive(IReadOnlyList<TensorLifetime> tensors, int alignment)
    {
        var events = new List<(long Step, long Delta)>(tensors.Count * 2);
        foreach (var tensor in tensors)
        {
            if (tensor.SizeBytes == 0)
            {
                continue;
            }
            var size = AlignUp(tensor.SizeBytes, alignment);
            events.Add((tensor.FirstStep, size));
            events.Add(((long)tensor.LastStep + 1, -size));
        }
        events.Sort((a, b) => a.Step.CompareTo(b.Step));

        long live = 0, peak = 0;
        for (var i = 0; i < events.Count;)
        {
            // Every start and end at one step applies before the step's total counts.
            var step = events[i].Step;
            for (; i < events.Count && events[i].Step == step; i++)
            {
                live = checked(live + events[i].Delta);
            }
            peak = Math.Max(peak, live);
        }
        return peak;
    }

    private static void Validate(IReadOnlyList<TensorLifetime> tensors, int alignment)
    {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentException($"The alignment must be a positive power of two, not {alignment}.", nameof(alignment));
        }

        var ids = new HashSet<int>();
        foreach (var tensor in tensors)
        {
            if (!ids.Add(tensor.Id))
            {
                throw new ArgumentException($"Tensor {tensor.Id} appears more than once.", nameof(tensors));
            }
            if (tensor.SizeBytes < 0)
            {
                throw new ArgumentException($"Tensor {tensor.Id} has a negative size ({tensor.SizeBytes} bytes).", nameof(tensors));
            }
            if (tensor.SizeBytes > long.MaxValue - alignment)
            {
                throw new ArgumentException($"Tensor {tensor.Id} is too large to place ({tensor.SizeBytes} bytes).", nameof(tensors));
            }
            if (tensor.FirstStep < 0 || tensor.LastStep < 0)
            {
                throw new ArgumentException(
                    $"Tensor {tensor.Id} has a negative step (first {tensor.FirstStep}, last {tensor.LastStep}).", nameof(tensors));
            }
            if (tensor.LastStep < tensor.FirstStep)
            {
                throw new ArgumentException(
                    $"Tensor {tensor.Id} ends before it starts (first step {tensor.FirstStep}, last step {tensor.LastStep}).", nameof(tensors));
            }
        }
    }

    private static long AlignUp(long value, int alignment) => (value + alignment - 1) & ~(long)(alignment - 1);
}
