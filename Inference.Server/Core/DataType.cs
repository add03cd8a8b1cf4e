namespace Inference.Server.Core;

/// <summary>
/// Tensor element types. The numeric values equal Triton's <c>TYPE_*</c> enum in model_config.proto
/// (TYPE_STRING = 13 is BYTES on the wire), so a config value converts with a cast.
/// </summary>
public enum DataType : byte
{
    Invalid = 0,
    Bool = 1,
    UInt8 = 2,
    UInt16 = 3,
    UInt32 = 4,
    UInt64 = 5,
    Int8 = 6,
    Int16 = 7,
    Int32 = 8,
    Int64 = 9,
    Fp16 = 10,
    Fp32 = 11,
    Fp64 = 12,
    Bytes = 13,
    Bf16 = 14,
}
