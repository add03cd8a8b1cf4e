namespace LoadTest.Clients;

/// <summary>The one input a benchmark sends: its name, KServe datatype, full shape (batch included) and bytes.</summary>
public sealed record InputSpec(string Name, string DataType, long[] Shape, byte[] Data, string OutputName)
{
    /// <summary>A request of <paramref name="batch"/> rows of deterministic random FP32 data.</summary>
    public static InputSpec RandomFp32(string name, long[] dimsWithoutBatch, int batch, string outputName)
    {
        long[] shape = [batch, .. dimsWithoutBatch];
        var count = shape.Aggregate(1L, (a, d) => a * d);
        var data = new byte[count * 4];
        var random = new Random(7);
        for (var i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(data.AsSpan(i * 4), random.NextSingle());
        }
        return new InputSpec(name, "FP32", shape, data, outputName);
    }
}
