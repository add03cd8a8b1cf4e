using Inference.Server.Backends.CudnnGraph.Planning;

namespace Inference.Tests.Backends.CudnnGraph;

public sealed class MemoryPlannerTests
{
    private const long Size = 1 << 20;

    [Fact]
    public void Plan_Chain_UsesTwoTensorsOfArena()
    {
        // a -> b -> c -> d: each step reads the tensor before and writes the next.
        TensorLifetime[] chain = [new(0, Size, 0, 1), new(1, Size, 1, 2), new(2, Size, 2, 3), new(3, Size, 3, 4)];

        var plan = MemoryPlanner.Plan(chain);

        Assert.Equal(2 * Size, plan.ArenaBytes);
        Assert.Equal(2 * Size, plan.PeakLiveBytes);
        Assert.Equal(0, plan.Offsets[0]);
        Assert.Equal(Size, plan.Offsets[1]);
        Assert.Equal(0, plan.Offsets[2]);
        Assert.Equal(Size, plan.Offsets[3]);
    }

    [Fact]
    public void Plan_ResidualBlock_KeepsTheSkipTensorUntilItsLastRead()
    {
        // a is read by step 1 and again by the residual add at step 3; without that read c would reuse a's bytes.
        TensorLifetime[] block = [new(0, Size, 0, 3), new(1, Size, 1, 2), new(2, Size, 2, 3), new(3, Size, 3, 4)];

        var plan = MemoryPlanner.Plan(block);

        Assert.Equal(0, plan.Offsets[0]);
        Assert.Equal(Size, plan.Offsets[1]);
        Assert.Equal(2 * Size, plan.Offsets[2]);
        Assert.Equal(Size, plan.Offsets[3]);
        Assert.Equal(3 * Size, plan.ArenaBytes);
        AssertValid(block, plan);

        var withoutSkip = MemoryPlanner.Plan([new(0, Size, 0, 1), .. block[1..]]);
        Assert.Equal(0, withoutSkip.Offsets[2]);
        Assert.Equal(2 * Size, withoutSkip.ArenaBytes);
    }

    [Fact]
    public void Plan_LargestFirst_SmallTensorsFillTheGaps()
    {
        // Two large tensors that never live together share offset 0; the small one lives beside both.
        TensorLifetime[] tensors = [new(7, 100, 0, 5), new(8, 4000, 0, 2), new(9, 4000, 3, 5)];

        var plan = MemoryPlanner.Plan(tensors, alignment: 64);

        Assert.Equal(0, plan.Offsets[8]);
        Assert.Equal(0, plan.Offsets[9]);
        Assert.Equal(4032, plan.Offsets[7]);
        Assert.Equal(4032 + 128, plan.ArenaBytes);
        Assert.Equal(plan.ArenaBytes, plan.PeakLiveBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(256)]
    [InlineData(4096)]
    public void Plan_EveryOffsetAndTheArenaAreAligned(int alignment)
    {
        TensorLifetime[] tensors = [new(0, 1, 0, 4), new(1, 3, 0, 4), new(2, 1000, 1, 2), new(3, 17, 2, 3), new(4, 4097, 0, 0)];

        var plan = MemoryPlanner.Plan(tensors, alignment);

        Assert.Equal(alignment, plan.Alignment);
        Assert.All(plan.Offsets.Values, offset => Assert.Equal(0, offset % alignment));
        Assert.Equal(0, plan.ArenaBytes % alignment);
        AssertValid(tensors, plan);
        if (alignment == 4096)
        {
            // Every tensor takes at least one whole block: 0, 1, 2 and 3 live at step 2 (as 0, 1 and the two blocks of 4 at step 0).
            Assert.Equal(4 * 4096, plan.PeakLiveBytes);
        }
    }

    [Fact]
    public void Plan_ZeroSizeTensors_TakeNoSpaceAndEmptyInputGivesAnEmptyArena()
    {
        var plan = MemoryPlanner.Plan([new(1, 0, 0, 9), new(2, 512, 0, 9), new(3, 0, 3, 4)]);

        Assert.Equal(0, plan.Offsets[1]);
        Assert.Equal(0, plan.Offsets[2]);
        Assert.Equal(0, plan.Offsets[3]);
        Assert.Equal(512, plan.ArenaBytes);
        Assert.Equal(512, plan.PeakLiveBytes);

        var empty = MemoryPlanner.Plan([]);
        Assert.Empty(empty.Offsets);
        Assert.Equal(0, empty.ArenaBytes);
        Assert.Equal(0, empty.PeakLiveBytes);
    }

    [Fact]
    public void Plan_RandomTensorSets_NeverOverlapLiveTensorsAndStayWithinBounds()
    {
        var random = new Random(18);
        for (var set = 0; set < 200; set++)
        {
            var alignment = 1 << random.Next(0, 10);
            var tensors = RandomTensors(random, random.Next(1, 61));

            var plan = MemoryPlanner.Plan(tensors, alignment);

            Assert.Equal(tensors.Length, plan.Offsets.Count);
            AssertValid(tensors, plan);
            Assert.Equal(BrutePeak(tensors, alignment), plan.PeakLiveBytes);
            Assert.InRange(plan.ArenaBytes, plan.PeakLiveBytes, tensors.Sum(t => AlignUp(t.SizeBytes, alignment)));
        }
    }

    [Fact]
    public void Plan_SameInput_GivesTheSamePlanWhateverTheOrder()
    {
        var random = new Random(7);
        // Equal sizes and first steps make the Id the tie-break that decides.
        TensorLifetime[] tensors = [.. RandomTensors(random, 40), new(1000, 5000, 2, 6), new(1001, 5000, 2, 4), new(1002, 5000, 2, 9)];

        var first = MemoryPlanner.Plan(tensors);
        var again = MemoryPlanner.Plan(tensors);
        var shuffled = tensors.ToArray();
        random.Shuffle(shuffled);
        var reordered = MemoryPlanner.Plan(shuffled);

        Assert.Equal(Sorted(first), Sorted(again));
        Assert.Equal(Sorted(first), Sorted(reordered));
        Assert.Equal(first.ArenaBytes, reordered.ArenaBytes);
        Assert.NotEqual(first.Offsets[1000], first.Offsets[1001]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-256)]
    [InlineData(3)]
    [InlineData(384)]
    public void Plan_AlignmentNotAPositivePowerOfTwo_Throws(int alignment)
    {
        var e = Assert.Throws<ArgumentException>(() => MemoryPlanner.Plan([new(0, 10, 0, 1)], alignment));

        Assert.Equal("alignment", e.ParamName);
        Assert.Contains($"not {alignment}", e.Message);
    }

    [Theory]
    [InlineData(-1L, 0, 1, "Tensor 5 has a negative size (-1 bytes)")]
    [InlineData(10L, 3, 2, "Tensor 5 ends before it starts (first step 3, last step 2)")]
    [InlineData(10L, -1, 2, "Tensor 5 has a negative step (first -1, last 2)")]
    [InlineData(10L, -3, -1, "Tensor 5 has a negative step (first -3, last -1)")]
    public void Plan_BadTensor_ThrowsNamingIt(long size, int first, int last, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => MemoryPlanner.Plan([new(4, 10, 0, 1), new(5, size, first, last)]));

        Assert.StartsWith(message, e.Message);
        Assert.Equal("tensors", e.ParamName);
    }

    [Fact]
    public void Plan_DuplicateId_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => MemoryPlanner.Plan([new(4, 10, 0, 1), new(9, 10, 0, 1), new(4, 20, 2, 3)]));

        Assert.StartsWith("Tensor 4 appears more than once", e.Message);
    }

    private static TensorLifetime[] RandomTensors(Random random, int count)
    {
        var tensors = new TensorLifetime[count];
        for (var i = 0; i < count; i++)
        {
            var first = random.Next(0, 40);
            // Mostly short lives (a chain), some long ones (skip connections), some empty tensors.
            var length = random.Next(4) == 0 ? random.Next(0, 20) : random.Next(0, 3);
            var size = random.Next(10) == 0 ? 0 : random.NextInt64(1, 1 << 22);
            tensors[i] = new TensorLifetime(i * 3 + 1, size, first, first + length);
        }
        return tensors;
    }

    private static void AssertValid(IReadOnlyList<TensorLifetime> tensors, MemoryPlan plan)
    {
        long highest = 0;
        foreach (var t in tensors)
        {
            var offset = plan.Offsets[t.Id];
            Assert.Equal(0, offset % plan.Alignment);
            Assert.True(offset + t.SizeBytes <= plan.ArenaBytes, $"tensor {t.Id} ends past the arena");
            highest = Math.Max(highest, AlignUp(offset + t.SizeBytes, plan.Alignment));
        }
        Assert.Equal(highest, plan.ArenaBytes);

        for (var i = 0; i < tensors.Count; i++)
        {
            for (var j = i + 1; j < tensors.Count; j++)
            {
                var (a, b) = (tensors[i], tensors[j]);
                if (a.SizeBytes == 0 || b.SizeBytes == 0 || a.LastStep < b.FirstStep || b.LastStep < a.FirstStep)
                {
                    continue;
                }
                var (oa, ob) = (plan.Offsets[a.Id], plan.Offsets[b.Id]);
                Assert.True(oa + a.SizeBytes <= ob || ob + b.SizeBytes <= oa,
                    $"tensors {a.Id} [{oa}, {oa + a.SizeBytes}) and {b.Id} [{ob}, {ob + b.SizeBytes}) are live together and overlap");
            }
        }
    }

    private static long BrutePeak(IReadOnlyList<TensorLifetime> tensors, int alignment)
    {
        long peak = 0;
        for (var step = 0; step <= tensors.Max(t => t.LastStep); step++)
        {
            peak = Math.Max(peak, tensors.Where(t => t.FirstStep <= step && step <= t.LastStep).Sum(t => AlignUp(t.SizeBytes, alignment)));
        }
        return peak;
    }

    private static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private static KeyValuePair<int, long>[] Sorted(MemoryPlan plan) => [.. plan.Offsets.OrderBy(kv => kv.Key)];
}
