using System.Runtime.InteropServices;
using Inference.Server.Caching;
using Inference.Server.Core;

namespace Inference.Tests.Caching;

/// <summary>The local response cache: keys, LRU eviction bounded by size, copies in and out.</summary>
public sealed class ResponseCacheTests
{
    private static InferenceRequest Request(float[] data, string model = "m", long[]? shape = null, DataType type = DataType.Fp32,
        string? output = null, int classes = 0)
    {
        var request = new InferenceRequest { ModelName = model };
        request.Inputs.Add(new InferTensor("INPUT0", type, shape ?? [1, data.Length], MemoryMarshal.AsBytes(data.AsSpan()).ToArray()));
        if (output is not null)
        {
            request.Outputs.Add(new RequestedOutput(output, classes));
        }
        return request;
    }

    private static InferenceResponse Response(float[] data)
    {
        var response = new InferenceResponse { ModelName = "m", ModelVersion = 1 };
        response.Outputs.Add(new InferTensor("OUTPUT0", DataType.Fp32, [1, data.Length], MemoryMarshal.AsBytes(data.AsSpan()).ToArray()));
        return response;
    }

    /// <summary>What one entry of one FP32 [1,16] output named OUTPUT0 costs.</summary>
    private const long EntryBytes = ResponseCache.EntryOverheadBytes + ResponseCache.TensorOverheadBytes + 64 + 14 + 16;

    [Fact]
    public void Key_CoversModelVersionInputsShapesTypesAndRequestedOutputs()
    {
        float[] data = [1, 2, 3, 4];
        var key = ResponseCacheKey.Compute(Request(data), 1);
        Assert.Equal(key, ResponseCacheKey.Compute(Request([1, 2, 3, 4]), 1));
        Assert.NotEqual(key, ResponseCacheKey.Compute(Request(data), 2));
        Assert.NotEqual(key, ResponseCacheKey.Compute(Request(data, model: "n"), 1));
        Assert.NotEqual(key, ResponseCacheKey.Compute(Request([1, 2, 3, 5]), 1));
        Assert.NotEqual(key, ResponseCacheKey.Compute(Request(data, shape: [2, 2]), 1));
        Assert.NotEqual(key, ResponseCacheKey.Compute(Request(data, type: DataType.Int32), 1));
        Assert.NotEqual(key, ResponseCacheKey.Compute(Request(data, output: "OUTPUT0"), 1));
        Assert.NotEqual(ResponseCacheKey.Compute(Request(data, output: "OUTPUT0"), 1), ResponseCacheKey.Compute(Request(data, output: "OUTPUT0", classes: 2), 1));

        var twoInputs = Request(data);
        twoInputs.Inputs.Add(new InferTensor("INPUT1", DataType.Fp32, [1, 1], new byte[4]));
        var swapped = new InferenceRequest { ModelName = "m" };
        swapped.Inputs.Add(twoInputs.Inputs[1]);
        swapped.Inputs.Add(twoInputs.Inputs[0]);
        Assert.Equal(ResponseCacheKey.Compute(twoInputs, 1), ResponseCacheKey.Compute(swapped, 1));
    }

    [Fact]
    public void Hit_ReturnsACopyThatOutlivesTheEntry()
    {
        var cache = new ResponseCache(10 * EntryBytes);
        var key = ResponseCacheKey.Compute(Request([1]), 1);
        Assert.Null(cache.TryGet(key, "m", 1, "a", out _));
        using (var response = Response(Kserve(16, 1)))
        {
            Assert.True(cache.TryAdd(key, response, out _));
            Assert.False(cache.TryAdd(key, response, out _));
        }
        using var hit = cache.TryGet(key, "m", 1, "req-7", out _);
        Assert.NotNull(hit);
        Assert.Equal("req-7", hit.Id);
        Assert.Equal(1, hit.ModelVersion);
        var output = Assert.Single(hit.Outputs);
        Assert.Equal(("OUTPUT0", DataType.Fp32), (output.Name, output.DataType));
        Assert.Equal([1, 16], output.Shape);
        Assert.Equal(Kserve(16, 1), MemoryMarshal.Cast<byte, float>(output.Data.Span).ToArray());
        Assert.Equal((1, 1L, 1L, 2L), (cache.EntryCount, cache.HitCount, cache.MissCount, cache.LookupCount));
        Assert.Equal(EntryBytes, cache.UsedBytes);
    }

    [Fact]
    public void Full_EvictsTheLeastRecentlyUsed_AndNeverExceedsTheSize()
    {
        var cache = new ResponseCache(2 * EntryBytes);
        var keys = Enumerable.Range(0, 3).Select(i => ResponseCacheKey.Compute(Request([i]), 1)).ToArray();
        Add(cache, keys[0]);
        Add(cache, keys[1]);
        Assert.NotNull(cache.TryGet(keys[0], "m", 1, "", out _)); // 0 is now the most recently used
        Add(cache, keys[2]);                                       // evicts 1
        Assert.Null(cache.TryGet(keys[1], "m", 1, "", out _));
        Assert.NotNull(cache.TryGet(keys[0], "m", 1, "", out _));
        Assert.NotNull(cache.TryGet(keys[2], "m", 1, "", out _));
        Assert.Equal(1, cache.EvictionCount);
        Assert.Equal(2, cache.EntryCount);
        Assert.True(cache.UsedBytes <= cache.CapacityBytes);
        Assert.Equal(1.0, cache.Utilization);
    }

    [Fact]
    public void AnEntryLargerThanTheCache_IsNotStored()
    {
        var cache = new ResponseCache(EntryBytes - 1);
        var key = ResponseCacheKey.Compute(Request([1]), 1);
        using var response = Response(Kserve(16, 1));
        Assert.False(cache.TryAdd(key, response, out _));
        Assert.Equal((0, 0L), (cache.EntryCount, cache.UsedBytes));
    }

    private static void Add(ResponseCache cache, ResponseCacheKey key)
    {
        using var response = Response(Kserve(16, 2));
        Assert.True(cache.TryAdd(key, response, out _));
    }

    private static float[] Kserve(int count, int seed) => Inference.Tests.EndToEnd.Kserve.RandomFloats(count, seed);
}
