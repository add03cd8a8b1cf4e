using Inference.Server.Core;

namespace LoadTest.Inputs;

/// <summary>Deterministic random input data (perf_analyzer's default): FP32 and FP16 uniform in [0, 1), integer
/// types uniform over their range, BOOL 0/1. Same seed, same bytes.</summary>
public static class RandomTensors
{
    public static TensorData Create(InputSpec spec, int batch, Random random)
    {
        var shape = spec.RequestShape(batch);
        if (!DataTypes.TryParseWireName(spec.DataType, out var type) || type.ElementSize() == 0)
        {
            throw new ArgumentException($"input '{spec.Name}': random data is not supported for datatype {spec.DataType}");
        }
        var count = checked((int)shape.Aggregate(1L, (a, d) => a * d));
        var data = new byte[count * type.ElementSize()];
        var span = data.AsSpan();
        switch (type)
        {
            case DataType.Fp32:
                for (var i = 0; i < count; i++)
                {
                    BitConverter.TryWriteBytes(span[(i * 4)..], random.NextSingle());
                }
                break;
            case DataType.Fp16:
                for (var i = 0; i < count; i++)
                {
                    BitConverter.TryWriteBytes(span[(i * 2)..], (Half)random.NextSingle());
                }
                break;
            case DataType.Fp64:
                for (var i = 0; i < count; i++)
                {
                    BitConverter.TryWriteBytes(span[(i * 8)..], random.NextDouble());
                }
                break;
            case DataType.Bool:
                for (var i = 0; i < count; i++)
                {
                    data[i] = (byte)random.Next(2);
                }
                break;
            default:
                random.NextBytes(data);
                break;
        }
        return new TensorData(spec.Name, spec.DataType, shape, data);
    }
}
