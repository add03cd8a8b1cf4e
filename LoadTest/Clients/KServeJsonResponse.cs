using System.Buffers;
using System.Text.Json;

namespace LoadTest.Clients;

/// <summary>
/// Validates a KServe v2 HTTP infer response: the JSON header (<c>{"outputs":[{"name","datatype","shape",
/// "data" | "parameters":{"binary_data_size"}}]}</c>) and, with the binary extension, the raw output bytes that
/// follow it in output order. Streaming (Utf8JsonReader); JSON numbers go to a pooled buffer, nothing tensor-sized
/// is allocated.
/// </summary>
public static class KServeJsonResponse
{
    public static string? Validate(ReadOnlySpan<byte> header, ReadOnlySpan<byte> binary, ResponseValidator validator)
    {
        var values = ArrayPool<double>.Shared.Rent(1024);
        try
        {
            return ValidateCore(header, binary, validator, ref values);
        }
        catch (JsonException)
        {
            return ResponseValidator.Malformed;
        }
        catch (InvalidOperationException)
        {
            return ResponseValidator.Malformed;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(values);
        }
    }

    private static string? ValidateCore(ReadOnlySpan<byte> header, ReadOnlySpan<byte> binary, ResponseValidator validator, ref double[] values)
    {
        var reader = new Utf8JsonReader(header);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return ResponseValidator.Malformed;
        }
        ulong seen = 0;
        var sawOutputs = false;
        Span<long> shape = stackalloc long[8];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("outputs"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }
            sawOutputs = true;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return ResponseValidator.Malformed;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                string? name = null, datatype = null;
                var rank = -1;
                var count = 0;
                long binarySize = -1;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("name"u8))
                    {
                        reader.Read();
                        name = reader.GetString();
                    }
                    else if (reader.ValueTextEquals("datatype"u8))
                    {
                        reader.Read();
                        datatype = reader.GetString();
                    }
                    else if (reader.ValueTextEquals("shape"u8))
                    {
                        reader.Read();
                        rank = 0;
                        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                        {
                            if (rank == shape.Length)
                            {
                                return "invalid-response:shape";
                            }
                            shape[rank++] = reader.GetInt64();
                        }
                    }
                    else if (reader.ValueTextEquals("data"u8))
                    {
                        reader.Read();
                        count = ReadNumbers(ref reader, ref values);
                        if (count < 0)
                        {
                            return ResponseValidator.Malformed;
                        }
                    }
                    else if (reader.ValueTextEquals("parameters"u8))
                    {
                        reader.Read();
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var isSize = reader.ValueTextEquals("binary_data_size"u8);
                            reader.Read();
                            if (isSize)
                            {
                                binarySize = reader.GetInt64();
                            }
                            else
                            {
                                reader.Skip();
                            }
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
                if (name is null || datatype is null || rank < 0)
                {
                    return ResponseValidator.Malformed;
                }
                string? error;
                if (binarySize >= 0)
                {
                    if (binarySize > binary.Length)
                    {
                        return "invalid-response:size";
                    }
                    error = validator.CheckBinary(name, datatype, shape[..rank], binary[..(int)binarySize], ref seen);
                    binary = binary[(int)binarySize..];
                }
                else
                {
                    error = validator.CheckValues(name, datatype, shape[..rank], values.AsSpan(0, count), ref seen);
                }
                if (error is not null)
                {
                    return error;
                }
            }
        }
        return !sawOutputs ? ResponseValidator.Malformed : binary.Length != 0 ? "invalid-response:size" : validator.Complete(seen);
    }

    /// <summary>Reads a (possibly nested) array of numbers or booleans into <paramref name="values"/>; -1 when
    /// something else is in it.</summary>
    private static int ReadNumbers(ref Utf8JsonReader reader, ref double[] values)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return -1;
        }
        var depth = reader.CurrentDepth;
        var count = 0;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
        {
            double v;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray or JsonTokenType.EndArray:
                    continue;
                case JsonTokenType.Number:
                    v = reader.GetDouble();
                    break;
                case JsonTokenType.True or JsonTokenType.False:
                    v = reader.GetBoolean() ? 1 : 0;
                    break;
                default:
                    return -1;
            }
            if (count == values.Length)
            {
                var bigger = ArrayPool<double>.Shared.Rent(values.Length * 2);
                values.CopyTo(bigger, 0);
                ArrayPool<double>.Shared.Return(values);
                values = bigger;
            }
            values[count++] = v;
        }
        return count;
    }
}
