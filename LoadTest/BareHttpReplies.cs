using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace LoadTest;

/// <summary>
/// The HTTP side of <see cref="BareServer"/>'s KServe-shaped peer: fixed metadata and config for a model <c>bare</c>
/// (input <c>pixels</c> UINT8 [-1,224,224,3], output <c>logits</c> FP32 [-1,1000]) and an infer route that reads the
/// whole body and answers the binary-extension reply for its row count, built once per row count.
/// </summary>
public static class BareHttpReplies
{
    private const int ImageBytes = 224 * 224 * 3;
    private const int Classes = 1000;

    public const string Metadata =
        """{"name":"bare","versions":["1"],"platform":"bare","inputs":[{"name":"pixels","datatype":"UINT8","shape":[-1,224,224,3]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,1000]}]}""";

    public const string Config = """{"name":"bare","max_batch_size":256}""";

    private static readonly ConcurrentDictionary<int, (byte[] Body, int HeaderLength)> Replies = new();

    public static async Task InferAsync(HttpContext context)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long read = 0;
        try
        {
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                read += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        var rows = (int)Math.Clamp(read / ImageBytes, 1, 4096);
        var (body, headerLength) = Replies.GetOrAdd(rows, Build);
        context.Response.ContentType = "application/octet-stream";
        context.Response.Headers["Inference-Header-Content-Length"] = headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    private static (byte[] Body, int HeaderLength) Build(int rows)
    {
        var size = rows * Classes * sizeof(float);
        var header = Encoding.UTF8.GetBytes(
            $$$"""{"model_name":"bare","model_version":"1","outputs":[{"name":"logits","datatype":"FP32","shape":[{{{rows}}},{{{Classes}}}],"parameters":{"binary_data_size":{{{size}}}}}]}""");
        var body = new byte[header.Length + size];
        header.CopyTo(body, 0);
        return (body, header.Length);
    }
}
