using System.Runtime.InteropServices;
using Inference.Server.Backends.OnnxRuntime;

namespace Inference.Tests.Backends;

/// <summary>The gather of request bytes into a GPU instance's staging buffer: order, segments, serial vs parallel.</summary>
public sealed unsafe class BatchGathererTests
{
    private static byte[][] Sources(int seed, params int[] lengths)
    {
        var random = new Random(seed);
        return [.. lengths.Select(l =>
        {
            var b = new byte[l];
            random.NextBytes(b);
            return b;
        })];
    }

    private static (byte[] Gathered, List<(long Offset, long Length)> Segments) Gather(BatchGatherer gatherer, byte[][] sources)
    {
        gatherer.Clear();
        foreach (var s in sources)
        {
            gatherer.Add(s);
        }
        var total = checked((int)gatherer.Bytes);
        var native = (byte*)NativeMemory.Alloc((nuint)Math.Max(total, 1));
        try
        {
            var segments = new List<(long, long)>();
            gatherer.CopyTo(native, (o, l) => segments.Add((o, l)));
            return (new Span<byte>(native, total).ToArray(), segments);
        }
        finally
        {
            NativeMemory.Free(native);
        }
    }

    [Fact]
    public void SmallBatch_IsOneSegment_InOrder()
    {
        var sources = Sources(1, 3, 0, 1000, 17);
        var (gathered, segments) = Gather(new BatchGatherer(), sources);

        Assert.Equal(sources.SelectMany(s => s).ToArray(), gathered);
        Assert.Equal([(0L, 1020L)], segments);
    }

    [Fact]
    public void LargeBatch_IsCopiedInParallel_InConsecutiveSegments()
    {
        // 256 ResNet-50 rows would be 154 MB; odd sizes exercise piece boundaries inside and between requests.
        int[] lengths = [.. Enumerable.Range(0, 40).Select(i => 150_000 + i * 7_919), 3 * BatchGatherer.PieceBytes + 5, 1];
        var sources = Sources(2, lengths);
        var (gathered, segments) = Gather(new BatchGatherer(maxDegreeOfParallelism: 4), sources);

        Assert.True(gathered.Length >= BatchGatherer.ParallelThreshold);
        Assert.Equal(sources.SelectMany(s => s).ToArray(), gathered);
        Assert.InRange(segments.Count, 2, BatchGatherer.Segments);
        long next = 0;
        foreach (var (offset, length) in segments)
        {
            Assert.Equal(next, offset);
            Assert.True(length > 0);
            next = offset + length;
        }
        Assert.Equal(gathered.Length, next);
    }

    [Fact]
    public void OneHugeRequest_IsSplitIntoPieces_AndReusedGathererForgetsThePreviousBatch()
    {
        var gatherer = new BatchGatherer(maxDegreeOfParallelism: 3);
        var big = Sources(3, (int)BatchGatherer.ParallelThreshold * 2 + 12_345);
        var (gathered, segments) = Gather(gatherer, big);
        Assert.Equal(big[0], gathered);
        Assert.Equal(BatchGatherer.Segments, segments.Count);

        var small = Sources(4, 10, 20);
        var (again, one) = Gather(gatherer, small);
        Assert.Equal(small.SelectMany(s => s).ToArray(), again);
        Assert.Single(one);
    }
}
