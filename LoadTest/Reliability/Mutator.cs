using System.Buffers.Binary;

namespace LoadTest.Reliability;

/// <summary>
/// Byte-level mutations of valid requests: bit flips, random and "interesting" bytes (JSON punctuation, 0x00, 0xFF,
/// 0x80), 32-bit boundary values (protobuf lengths and varints), truncation, insertion, deletion, duplication of a
/// range, and splices of two seeds. One to three mutations per request, drawn from the given <see cref="Random"/>,
/// so a request is reproducible from its seed. Stateless.
/// </summary>
public static class Mutator
{
    private static readonly byte[] Interesting = [0x00, 0xFF, 0x7F, 0x80, 0xC0, (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':',
        (byte)'-', (byte)'9', (byte)'e', (byte)'\\', (byte)'.', (byte)' '];

    private static readonly uint[] InterestingInts = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    /// <summary>A mutated copy of <paramref name="seed"/> (<paramref name="other"/> is the splice partner) and what
    /// was done, e.g. <c>flip@12 truncate@40</c>.</summary>
    public static (byte[] Bytes, string Description) Mutate(byte[] seed, byte[] other, Random random)
    {
        var bytes = seed;
        var steps = new List<string>();
        var count = 1 + random.Next(3);
        for (var i = 0; i < count; i++)
        {
            (bytes, var step) = Once(bytes, other, random);
            steps.Add(step);
        }
        return (bytes, string.Join(" ", steps));
    }

    private static (byte[], string) Once(byte[] input, byte[] other, Random random)
    {
        if (input.Length == 0)
        {
            return ([.. Enumerable.Range(0, 1 + random.Next(8)).Select(_ => (byte)random.Next(256))], "random-bytes");
        }
        var b = (byte[])input.Clone();
        var at = random.Next(b.Length);
        switch (random.Next(10))
        {
            case 0:
                var bits = 1 + random.Next(8);
                for (var i = 0; i < bits; i++)
                {
                    var p = random.Next(b.Length);
                    b[p] ^= (byte)(1 << random.Next(8));
                }
                return (b, $"flip{bits}@{at}");
            case 1:
                var n = 1 + random.Next(4);
                for (var i = 0; i < n && at + i < b.Length; i++)
                {
                    b[at + i] = (byte)random.Next(256);
                }
                return (b, $"random{n}@{at}");
            case 2:
                b[at] = Interesting[random.Next(Interesting.Length)];
                return (b, $"interesting(0x{b[at]:X2})@{at}");
            case 3:
                if (b.Length - at >= 4)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), InterestingInts[random.Next(InterestingInts.Length)]);
                }
                return (b, $"int32@{at}");
            case 4:
                return (input[..at], $"truncate@{at}");
            case 5:
                var insert = Enumerable.Range(0, 1 + random.Next(16)).Select(_ => random.Next(3) == 0 ? Interesting[random.Next(Interesting.Length)] : (byte)random.Next(256)).ToArray();
                return ([.. input[..at], .. insert, .. input[at..]], $"insert{insert.Length}@{at}");
            case 6:
                var len = 1 + random.Next(Math.Min(32, input.Length - at));
                return ([.. input[..at], .. input[(at + len)..]], $"delete{len}@{at}");
            case 7:
                var dup = 1 + random.Next(Math.Min(64, input.Length - at));
                return ([.. input[..(at + dup)], .. input[at..]], $"duplicate{dup}@{at}");
            case 8:
                var cut = other.Length == 0 ? 0 : random.Next(other.Length);
                return ([.. input[..at], .. other[cut..]], $"splice@{at}+{cut}");
            default:
                var q = random.Next(b.Length);
                (b[at], b[q]) = (b[q], b[at]);
                return (b, $"swap@{at},{q}");
        }
    }
}
