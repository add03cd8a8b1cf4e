using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Inference.Server.Core;

namespace Inference.Server.Caching;

/// <summary>
/// The key of one inference request in the <see cref="ResponseCache"/>: the SHA-256 of the model name and version, every
/// input (in name order: name, datatype, shape and bytes) and the requested outputs (in name order: name and
/// classification count; none means all). Triton hashes the name, version and input names and bytes into 64 bits; the
/// datatype, shape and requested outputs here keep two requests that differ only in those apart, and 256 bits make a
/// collision (a wrong cached answer) out of reach.
/// </summary>
public readonly record struct ResponseCacheKey(UInt128 Low, UInt128 High)
{
    [ThreadStatic]
    private static IncrementalHash? t_hash;

    [ThreadStatic]
    private static byte[]? t_scratch;

    /// <summary>The key of <paramref name="request"/> to version <paramref name="version"/> of its model. Thread-safe;
    /// allocates nothing per call once the thread has hashed one request.</summary>
    public static ResponseCacheKey Compute(InferenceRequest request, long version)
    {
        var hash = t_hash ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scratch = t_scratch ??= new byte[256];
        AppendString(hash, scratch, request.ModelName);
        AppendInt64(hash, scratch, version);

        var inputs = request.Inputs;
        AppendInt64(hash, scratch, inputs.Count);
        Span<int> order = inputs.Count <= 64 ? stackalloc int[inputs.Count] : new int[inputs.Count];
        SortByName(order, i => inputs[i].Name);
        foreach (var i in order)
        {
            var t = inputs[i];
            AppendString(hash, scratch, t.Name);
            AppendInt64(hash, scratch, (long)t.DataType);
            AppendInt64(hash, scratch, t.Shape.Length);
            foreach (var d in t.Shape)
            {
                AppendInt64(hash, scratch, d);
            }
            AppendInt64(hash, scratch, t.Data.Length);
            hash.AppendData(t.Data.Span);
        }

        var outputs = request.Outputs;
        AppendInt64(hash, scratch, outputs.Count);
        Span<int> outputOrder = outputs.Count <= 64 ? stackalloc int[outputs.Count] : new int[outputs.Count];
        SortByName(outputOrder, i => outputs[i].Name);
        foreach (var i in outputOrder)
        {
            AppendString(hash, scratch, outputs[i].Name);
            AppendInt64(hash, scratch, outputs[i].ClassificationCount);
        }

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return new ResponseCacheKey(BinaryPrimitives.ReadUInt128LittleEndian(digest), BinaryPrimitives.ReadUInt128LittleEndian(digest[16..]));
    }

    private static void SortByName(Span<int> order, Func<int, string> name)
    {
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        for (var i = 1; i < order.Length; i++)
        {
            var current = order[i];
            var j = i - 1;
            while (j >= 0 && string.CompareOrdinal(name(order[j]), name(current)) > 0)
            {
                order[j + 1] = order[j];
                j--;
            }
            order[j + 1] = current;
        }
    }

    private static void AppendInt64(IncrementalHash hash, byte[] scratch, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(scratch, value);
        hash.AppendData(scratch, 0, sizeof(long));
    }

    private static void AppendString(IncrementalHash hash, byte[] scratch, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        AppendInt64(hash, scratch, length);
        if (length <= scratch.Length)
        {
            Encoding.UTF8.GetBytes(value, scratch);
            hash.AppendData(scratch, 0, length);
        }
        else
        {
            hash.AppendData(Encoding.UTF8.GetBytes(value));
        }
    }
}
