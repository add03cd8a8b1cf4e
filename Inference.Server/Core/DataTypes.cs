using System.Collections.Frozen;

namespace Inference.Server.Core;

/// <summary>Names and sizes of <see cref="DataType"/> as the KServe v2 protocol and config.pbtxt spell them.</summary>
public static class DataTypes
{
    private static readonly string[] WireNames =
        ["INVALID", "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"];

    private static readonly FrozenDictionary<string, DataType> ByWireName =
        WireNames.Select((n, i) => (n, (DataType)i)).Where(p => p.Item2 != DataType.Invalid)
            .ToFrozenDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal);

    /// <summary>The protocol's name: "FP32", "BYTES", ...</summary>
    public static string ToWireName(this DataType type) => WireNames[(int)type];

    /// <summary>The config's name: "TYPE_FP32", "TYPE_STRING", ...</summary>
    public static string ToConfigName(this DataType type) => type == DataType.Bytes ? "TYPE_STRING" : "TYPE_" + WireNames[(int)type];

    public static bool TryParseWireName(string? name, out DataType type)
    {
        if (name is not null && ByWireName.TryGetValue(name, out type))
        {
            return true;
        }
        type = DataType.Invalid;
        return false;
    }

    /// <summary>Bytes per element; 0 for <see cref="DataType.Bytes"/>, whose elements vary in length.</summary>
    public static int ElementSize(this DataType type) => type switch
    {
        DataType.Bool or DataType.UInt8 or DataType.Int8 => 1,
        DataType.UInt16 or DataType.Int16 or DataType.Fp16 or DataType.Bf16 => 2,
        DataType.UInt32 or DataType.Int32 or DataType.Fp32 => 4,
        DataType.UInt64 or DataType.Int64 or DataType.Fp64 => 8,
        _ => 0,
    };
}
