using System.Text.Json;
using Inference.Server.Backends.CudnnGraph.Tuning;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Backends.CudnnGraph;

public sealed class PlanCacheTests
{
    private static readonly PlanCacheKey Key = new("NVIDIA H200", "9.0", "570.124.06", "9.8.0",
        "conv+bias+add+relu n1 c64 h56 w56 k64 r3 s3 pad1 stride1 fp16 nhwc");

    private static readonly PlanChoice Choice = new("eng7 k2=1 k13=0", 12.375, true,
        new DateTimeOffset(2026, 12, 4, 19, 30, 15, 123, TimeSpan.Zero).AddTicks(4567));

    private static PlanCacheKey Layer(int i) => Key with { Operation = $"conv layer {i} <fp16> +relu" };

    private static PlanChoice Timed(int i) => new($"eng{i % 9}", 10 + i / 8.0, i % 3 != 0, Choice.MeasuredAt.AddMinutes(i));

    [Fact]
    public void SaveThenLoad_GivesBackEveryEntry()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("plans", "cache.json");
        var cache = new PlanCache();
        cache.Set(Key, Choice);
        var unfused = new PlanChoice("unfused", 30.5, false, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)));
        cache.Set(Layer(1), unfused);

        cache.Save(path);
        var loaded = PlanCache.Load(path);

        Assert.Null(loaded.Warning);
        Assert.Equal(2, loaded.Count);
        Assert.True(loaded.TryGet(Key, out var choice));
        Assert.Equal(Choice, choice);
        Assert.True(loaded.TryGet(Layer(1), out var other));
        Assert.Equal(unfused, other);
        Assert.Equal(TimeSpan.FromHours(2), other.MeasuredAt.Offset);

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        Assert.Equal("aspire-inference/cudnn-plan-cache", root.GetProperty("format").GetString());
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        var entries = root.GetProperty("entries");
        Assert.Equal(2, entries.GetArrayLength());
        var entry = entries.EnumerateArray().Single(e => e.GetProperty("operation").GetString() == Key.Operation);
        Assert.Equal("NVIDIA H200", entry.GetProperty("gpu").GetString());
        Assert.Equal("9.0", entry.GetProperty("compute_capability").GetString());
        Assert.Equal("570.124.06", entry.GetProperty("driver").GetString());
        Assert.Equal("9.8.0", entry.GetProperty("cudnn").GetString());
        Assert.Equal(Key.Operation, entry.GetProperty("operation").GetString());
        Assert.Equal("eng7 k2=1 k13=0", entry.GetProperty("engine").GetString());
        Assert.Equal(12.375, entry.GetProperty("microseconds").GetDouble());
        Assert.True(entry.GetProperty("fused").GetBoolean());
        Assert.Equal("2026-12-04T19:30:15.1234567+00:00", entry.GetProperty("measured_at").GetString());
    }

    [Fact]
    public void Set_SameKey_ReplacesTheChoice()
    {
        var cache = new PlanCache();
        cache.Set(Key, Choice);
        cache.Set(Key with { }, Choice with { Engine = "eng1" });

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(Key, out var choice));
        Assert.Equal("eng1", choice.Engine);
    }

    [Fact]
    public void TryGet_AnyKeyFieldDifferent_Misses()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("cache.json");
        var cache = new PlanCache();
        cache.Set(Key, Choice);
        // Other node pools' entries in the same file.
        cache.Set(Key with { Gpu = "NVIDIA A100-SXM4-80GB", ComputeCapability = "8.0" }, Choice with { Engine = "a100" });
        cache.Set(Key with { Driver = "560.35.03" }, Choice with { Engine = "old-driver" });
        cache.Save(path);
        var loaded = PlanCache.Load(path);

        Assert.Equal(3, loaded.Count);
        Assert.True(loaded.TryGet(Key with { }, out var hit));
        Assert.Equal(Choice, hit);
        PlanCacheKey[] misses =
        [
            Key with { Gpu = "NVIDIA H100 80GB HBM3" },
            Key with { ComputeCapability = "9.0a" },
            Key with { Driver = "570.124.07" },
            Key with { Cudnn = "9.8.1" },
            Key with { Operation = Key.Operation + " " },
            Key with { Gpu = "nvidia h200" },
        ];
        foreach (var miss in misses)
        {
            Assert.False(loaded.TryGet(miss, out _), $"{miss} should miss");
        }
        Assert.True(loaded.TryGet(Key with { Driver = "560.35.03" }, out var old));
        Assert.Equal("old-driver", old.Engine);
    }

    [Fact]
    public void Load_MissingFile_IsEmptyWithoutWarning()
    {
        using var temp = new TempDirectory();

        var cache = PlanCache.Load(temp.Combine("no-such-folder", "cache.json"));

        Assert.Equal(0, cache.Count);
        Assert.Null(cache.Warning);
    }

    [Theory]
    [InlineData("{\"format\":\"aspire-inference/cudnn-plan-cache\",\"version\":1,\"entries\":[", "not valid JSON")]
    [InlineData("\u0000\u0001garbage", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("[1,2,3]", "not a aspire-inference/cudnn-plan-cache file")]
    [InlineData("{\"format\":\"something-else\",\"version\":1,\"entries\":[]}", "not a aspire-inference/cudnn-plan-cache file")]
    [InlineData("{\"format\":\"aspire-inference/cudnn-plan-cache\",\"version\":2,\"entries\":[]}", "version 2, not 1")]
    [InlineData("{\"format\":\"aspire-inference/cudnn-plan-cache\",\"version\":1.5,\"entries\":[]}", "version 1.5, not 1")]
    [InlineData("{\"format\":\"aspire-inference/cudnn-plan-cache\",\"version\":\"1\",\"entries\":[]}", "no version")]
    [InlineData("{\"format\":\"aspire-inference/cudnn-plan-cache\",\"version\":1}", "no entries array")]
    [InlineData("{\"format\":\"aspire-inference/cudnn-plan-cache\",\"version\":1,\"entries\":[{\"gpu\":\"x\"}]}", "entry 0 is malformed")]
    public void Load_UnreadableFile_IsEmptyWithAWarningAndSaveReplacesIt(string content, string why)
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("cache.json");
        File.WriteAllText(path, content);

        var cache = PlanCache.Load(path);

        Assert.Equal(0, cache.Count);
        Assert.NotNull(cache.Warning);
        Assert.Contains(path, cache.Warning);
        Assert.Contains(why, cache.Warning);

        cache.Set(Key, Choice);
        cache.Save(path);
        var reloaded = PlanCache.Load(path);
        Assert.Null(reloaded.Warning);
        Assert.Equal(1, reloaded.Count);
        Assert.True(reloaded.TryGet(Key, out var choice));
        Assert.Equal(Choice, choice);
    }

    [Fact]
    public void Load_OneMalformedEntryAmongGoodOnes_IgnoresTheWholeFile()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("cache.json");
        var cache = new PlanCache();
        cache.Set(Key, Choice);
        cache.Set(Layer(2), Choice);
        cache.Save(path);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"fused\": true", "\"fused\": \"yes\"", StringComparison.Ordinal));

        var loaded = PlanCache.Load(path);

        Assert.Equal(0, loaded.Count);
        Assert.Contains("entry 0 is malformed", loaded.Warning);
    }

    [Fact]
    public void Save_LeavesOnlyTheCacheFileInItsFolder()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("plans", "cache.json");
        var cache = new PlanCache();
        cache.Set(Key, Choice);

        cache.Save(path);
        cache.Set(Layer(1), Choice);
        cache.Save(path);

        Assert.Equal([path], Directory.GetFileSystemEntries(temp.Combine("plans")));
        Assert.Equal(2, PlanCache.Load(path).Count);
    }

    [Fact]
    public async Task Set_FromSeveralThreads_ThenSave_KeepsEveryEntry()
    {
        const int Threads = 8, PerThread = 250;
        using var temp = new TempDirectory();
        var path = temp.Combine("cache.json");
        var cache = new PlanCache();
        using var start = new Barrier(Threads);

        var writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            start.SignalAndWait(TestContext.Current.CancellationToken);
            for (var i = 0; i < PerThread; i++)
            {
                var n = t * PerThread + i;
                cache.Set(Layer(n), Timed(n));
                Assert.True(cache.TryGet(Layer(n), out _));
            }
        }, TestContext.Current.CancellationToken));
        await Task.WhenAll(writers);
        cache.Save(path);

        var loaded = PlanCache.Load(path);
        Assert.Equal(Threads * PerThread, loaded.Count);
        for (var n = 0; n < Threads * PerThread; n++)
        {
            Assert.True(loaded.TryGet(Layer(n), out var choice), $"layer {n} is missing");
            Assert.Equal(Timed(n), choice);
        }
    }

    [Fact]
    public void Save_SameEntriesInAnotherOrder_WritesTheSameBytes()
    {
        using var temp = new TempDirectory();
        var entries = Enumerable.Range(0, 50)
            .Select(i => (Key: Layer(i) with { Gpu = i % 2 == 0 ? "NVIDIA H200" : "NVIDIA L4", Cudnn = $"9.{i % 4}.0" }, Choice: Timed(i)))
            .ToArray();
        var forward = new PlanCache();
        foreach (var (key, choice) in entries)
        {
            forward.Set(key, choice);
        }
        var shuffled = new PlanCache();
        var order = entries.ToArray();
        new Random(3).Shuffle(order);
        Assert.NotEqual(entries.Select(e => e.Key), order.Select(e => e.Key));
        foreach (var (key, choice) in order)
        {
            shuffled.Set(key, choice);
        }

        forward.Save(temp.Combine("a.json"));
        shuffled.Save(temp.Combine("b.json"));
        PlanCache.Load(temp.Combine("b.json")).Save(temp.Combine("c.json"));

        var a = File.ReadAllBytes(temp.Combine("a.json"));
        Assert.Equal(a, File.ReadAllBytes(temp.Combine("b.json")));
        Assert.Equal(a, File.ReadAllBytes(temp.Combine("c.json")));
        using var document = JsonDocument.Parse(a);
        var gpus = document.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("gpu").GetString()).ToArray();
        Assert.Equal(gpus.Order(StringComparer.Ordinal), gpus);
    }

    [Fact]
    public void Set_TimeNotFinite_Throws()
    {
        var cache = new PlanCache();

        Assert.Throws<ArgumentException>(() => cache.Set(Key, Choice with { Microseconds = double.NaN }));
        Assert.Throws<ArgumentException>(() => cache.Set(Key, Choice with { Microseconds = -1 }));
        Assert.Equal(0, cache.Count);
    }
}
