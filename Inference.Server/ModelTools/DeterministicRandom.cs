namespace Inference.Server.ModelTools;

/// <summary>SplitMix64: a tiny, fast, seedable generator whose sequence is fixed forever, so generated
/// weights are identical on every machine and every run. Not thread-safe (a mutable struct).</summary>
public struct DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 bits of resolution.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Fills <paramref name="values"/> uniformly from [-<paramref name="bound"/>, <paramref name="bound"/>).</summary>
    public void FillUniform(Span<float> values, float bound)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (NextSingle() * 2f - 1f) * bound;
        }
    }

    /// <summary>A seed for stream <paramref name="index"/> of a generator family, decorrelated from its neighbours.</summary>
    public static ulong DeriveSeed(ulong seed, ulong index) => new DeterministicRandom(seed ^ (index * 0xD1B54A32D192ED03UL)).NextUInt64();
}
