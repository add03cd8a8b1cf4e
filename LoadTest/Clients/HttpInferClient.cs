using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Inference.Server.Core;
using LoadTest.Inputs;

namespace LoadTest.Clients;

/// <summary>
/// KServe v2 HTTP infer: with <c>binary</c>, Triton's binary tensor extension in both directions (a JSON header then
/// raw bytes); otherwise plain JSON (<c>data</c> arrays; FP16/BF16 are binary-only, as in Triton). Bodies are built
/// once; responses are read into pooled buffers and validated in place. One HttpClient, unlimited HTTP/1.1
/// connections (one per concurrent request, like wrk's).
/// </summary>
public sealed class HttpInferClient : IInferClient
{
    private const string HeaderLengthName = "Inference-Header-Content-Length";
    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly (byte[] Body, string? HeaderLength)[] _bodies;
    private readonly bool _binary;
    private readonly ResponseValidator _validator;
    private int _next;

    public HttpInferClient(Uri address, string model, string version, IReadOnlyList<RequestTemplate> templates, ResponseValidator validator, bool binary)
    {
        _binary = binary;
        _validator = validator;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            UseCookies = false,
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _uri = new Uri(address, version.Length == 0 ? $"/v2/models/{model}/infer" : $"/v2/models/{model}/versions/{version}/infer");
        _bodies = [.. templates.Select(t => binary ? BuildBinary(t) : (BuildJson(t), (string?)null))];
    }

    /// <summary>The binary-extension request body and the length of its JSON header.</summary>
    public static (byte[] Body, string? HeaderLength) BuildBinary(RequestTemplate template)
    {
        var header = new StringBuilder("{\"inputs\":[");
        for (var i = 0; i < template.Inputs.Count; i++)
        {
            var t = template.Inputs[i];
            header.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture,
                $"{{\"name\":{JsonSerializer.Serialize(t.Name)},\"shape\":[{string.Join(",", t.Shape)}],\"datatype\":\"{t.DataType}\",\"parameters\":{{\"binary_data_size\":{t.Data.Length}}}}}");
        }
        header.Append("],\"outputs\":[").AppendJoin(",", template.Outputs.Select(o => $"{{\"name\":{JsonSerializer.Serialize(o)},\"parameters\":{{\"binary_data\":true}}}}")).Append("]}");
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        byte[] body = [.. headerBytes, .. template.Inputs.SelectMany(t => t.Data)];
        return (body, headerBytes.Length.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The plain-JSON request body (numbers in <c>data</c>, row-major and flat).</summary>
    public static byte[] BuildJson(RequestTemplate template)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("inputs");
            foreach (var t in template.Inputs)
            {
                json.WriteStartObject();
                json.WriteString("name", t.Name);
                json.WriteStartArray("shape");
                foreach (var d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteString("datatype", t.DataType);
                json.WriteStartArray("data");
                WriteValues(json, t);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("outputs");
            foreach (var o in template.Outputs)
            {
                json.WriteStartObject();
                json.WriteString("name", o);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteValues(Utf8JsonWriter json, TensorData t)
    {
        if (!DataTypes.TryParseWireName(t.DataType, out var type) || type is DataType.Fp16 or DataType.Bf16 or DataType.Bytes)
        {
            throw new ArgumentException($"input '{t.Name}': {t.DataType} cannot be sent as JSON; use --protocol http (binary) or grpc");
        }
        var d = t.Data.AsSpan();
        var size = type.ElementSize();
        for (var i = 0; i < d.Length; i += size)
        {
            var e = d.Slice(i, size);
            switch (type)
            {
                case DataType.Fp32: json.WriteNumberValue(BitConverter.ToSingle(e)); break;
                case DataType.Fp64: json.WriteNumberValue(BitConverter.ToDouble(e)); break;
                case DataType.Bool: json.WriteBooleanValue(e[0] != 0); break;
                case DataType.UInt8: json.WriteNumberValue(e[0]); break;
                case DataType.Int8: json.WriteNumberValue((sbyte)e[0]); break;
                case DataType.UInt16: json.WriteNumberValue(BitConverter.ToUInt16(e)); break;
                case DataType.Int16: json.WriteNumberValue(BitConverter.ToInt16(e)); break;
                case DataType.UInt32: json.WriteNumberValue(BitConverter.ToUInt32(e)); break;
                case DataType.Int32: json.WriteNumberValue(BitConverter.ToInt32(e)); break;
                case DataType.UInt64: json.WriteNumberValue(BitConverter.ToUInt64(e)); break;
                default: json.WriteNumberValue(BitConverter.ToInt64(e)); break;
            }
        }
    }

    public async Task<string?> InferAsync(CancellationToken cancellationToken)
    {
        var (body, headerLength) = _bodies[(uint)Interlocked.Increment(ref _next) % _bodies.Length];
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = _binary ? new MediaTypeHeaderValue("application/octet-stream") : new MediaTypeHeaderValue("application/json");
        if (headerLength is not null)
        {
            content.Headers.TryAddWithoutValidation(HeaderLengthName, headerLength);
        }
        byte[]? buffer = null;
        try
        {
            using var response = await _http.PostAsync(_uri, content, cancellationToken).ConfigureAwait(false);
            var length = response.Content.Headers.ContentLength ?? -1;
            (buffer, var read) = await ReadBodyAsync(response.Content, length, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return "http-" + (int)response.StatusCode;
            }
            var json = read;
            if (response.Headers.TryGetValues(HeaderLengthName, out var values) || response.Content.Headers.TryGetValues(HeaderLengthName, out values))
            {
                if (!int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out json) || json > read)
                {
                    return ResponseValidator.Malformed;
                }
            }
            return KServeJsonResponse.Validate(buffer.AsSpan(0, json), buffer.AsSpan(json, read - json), _validator);
        }
        catch (HttpRequestException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return "transport-" + e.HttpRequestError;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static async Task<(byte[] Buffer, int Read)> ReadBodyAsync(HttpContent content, long length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length >= 0 ? (int)Math.Max(length, 1) : 16 * 1024);
        var read = 0;
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                if (read == length)
                {
                    return (buffer, read);
                }
                if (read == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, read).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return (buffer, read);
                }
                read += n;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
