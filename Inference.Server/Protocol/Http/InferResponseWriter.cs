using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Inference.Server.Core;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Writes a KServe v2 infer response. All-JSON responses stream to the body as <c>application/json</c>, flushed
/// in chunks. When any output is binary (binary tensor data extension), the JSON header is built in a pooled
/// buffer, its length goes out in <c>Inference-Header-Content-Length</c>, the content type is
/// <c>application/octet-stream</c> (as Triton), and the outputs' raw bytes follow the header in output order.
/// Outputs that JSON cannot carry (FP16/BF16, NaN) fail the whole response before anything is written.
/// Outputs already written to shared memory (<paramref name="sharedMemory"/>) carry their <c>shared_memory_*</c>
/// parameters and no data, as Triton. Does not dispose the response.
/// </summary>
public static class InferResponseWriter
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";
    public const string BinaryContentType = "application/octet-stream";

    private const int FlushThreshold = 64 * 1024;

    public static async Task WriteAsync(
        HttpResponse http, InferenceResponse response, Func<string, bool> isBinary, CancellationToken cancellationToken, SharedMemoryOutputs? sharedMemory = null)
    {
        var anyBinary = false;
        foreach (var output in response.Outputs)
        {
            if (sharedMemory?.For(output.Name) is not null)
            {
                continue;
            }
            if (isBinary(output.Name))
            {
                anyBinary = true;
                continue;
            }
            var error = JsonTensorCodec.CheckEncodable(output);
            if (error is not null)
            {
                await HttpJson.WriteErrorAsync(http, error);
                return;
            }
        }
        if (!anyBinary)
        {
            http.StatusCode = StatusCodes.Status200OK;
            http.ContentType = HttpJson.ContentType;
            await WriteJsonAsync(http.BodyWriter, response, isBinary, sharedMemory, flush: true, cancellationToken);
            await http.BodyWriter.FlushAsync(cancellationToken);
            return;
        }
        using var header = new PooledBufferWriter();
        await WriteJsonAsync(header, response, isBinary, sharedMemory, flush: false, cancellationToken);
        long total = header.WrittenCount;
        foreach (var output in response.Outputs)
        {
            if (isBinary(output.Name))
            {
                total += output.Data.Length;
            }
        }
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = BinaryContentType;
        http.Headers[HeaderLengthHeader] = header.WrittenCount.ToString(CultureInfo.InvariantCulture);
        http.ContentLength = total;
        var body = http.BodyWriter;
        await body.WriteAsync(header.WrittenMemory, cancellationToken);
        foreach (var output in response.Outputs)
        {
            if (isBinary(output.Name))
            {
                await body.WriteAsync(output.Data, cancellationToken);
            }
        }
        await body.FlushAsync(cancellationToken);
    }

    private static async Task WriteJsonAsync(
        System.Buffers.IBufferWriter<byte> target, InferenceResponse response, Func<string, bool> isBinary, SharedMemoryOutputs? sharedMemory,
        bool flush, CancellationToken cancellationToken)
    {
        await using var w = new Utf8JsonWriter(target, HttpJson.WriterOptions);
        w.WriteStartObject();
        if (response.Id.Length > 0)
        {
            w.WriteString("id", response.Id);
        }
        w.WriteString("model_name", response.ModelName);
        w.WriteString("model_version", response.ModelVersion.ToString(CultureInfo.InvariantCulture));
        w.WriteStartArray("outputs");
        foreach (var output in response.Outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", output.Name);
            w.WriteString("datatype", output.DataType.ToWireName());
            w.WriteStartArray("shape");
            foreach (var d in output.Shape)
            {
                w.WriteNumberValue(d);
            }
            w.WriteEndArray();
            if (sharedMemory?.For(output.Name) is { } window)
            {
                w.WriteStartObject("parameters");
                w.WriteString(SharedMemoryTensors.RegionParameter, window.RegionName);
                w.WriteNumber(SharedMemoryTensors.ByteSizeParameter, output.Data.Length);
                if (window.Offset != 0)
                {
                    w.WriteNumber(SharedMemoryTensors.OffsetParameter, window.Offset);
                }
                w.WriteEndObject();
            }
            else if (isBinary(output.Name))
            {
                w.WriteStartObject("parameters");
                w.WriteNumber("binary_data_size", output.Data.Length);
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartArray("data");
                var offset = 0;
                var pendingLimit = flush ? FlushThreshold : int.MaxValue;
                while (offset < output.Data.Length)
                {
                    offset = JsonTensorCodec.WriteElements(w, output.DataType, output.Data.Span, offset, pendingLimit);
                    if (flush && w.BytesPending >= FlushThreshold)
                    {
                        w.Flush();
                        await ((PipeWriter)target).FlushAsync(cancellationToken);
                    }
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
