using System.IO.Compression;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Request <c>Content-Encoding</c> of the KServe HTTP API, as Triton's HTTP frontend: <c>gzip</c> and <c>deflate</c>
/// (the zlib format, RFC 1950) bodies are decoded while they are read, <c>identity</c> (or no header) is read as is, and
/// any other coding is refused with 415 and <c>Accept-Encoding: gzip, deflate</c> before the handler runs.
/// The body limit (Kestrel's MaxRequestBodySize for the request, which an endpoint may raise) applies to the decoded
/// size, so a small body that inflates past it is a 413 after at most the limit has been inflated, never an
/// out-of-memory; a body that is not of its declared coding is a 400 saying so. Both surface from the body stream
/// as <see cref="BadHttpRequestException"/>, which <see cref="RequestBodyReader"/> turns into the error reply.
/// </summary>
public static class HttpRequestDecompression
{
    /// <summary>The codings a request body may have, as Triton names them in its 415 reply.</summary>
    public const string SupportedEncodings = "gzip, deflate";

    /// <summary>Decodes request bodies of requests under <c>/v2</c>.</summary>
    public static IApplicationBuilder UseKServeRequestDecompression(this IApplicationBuilder app) =>
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/v2"), branch => branch.Use(DecodeAsync));

    private static Task DecodeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (!request.Headers.TryGetValue("Content-Encoding", out var header))
        {
            return next(context);
        }
        var coding = Coding(header.ToString());
        if (coding is "identity")
        {
            return next(context);
        }
        if (coding is not ("gzip" or "deflate"))
        {
            context.Response.Headers.AcceptEncoding = SupportedEncodings;
            return HttpJson.WriteErrorAsync(context.Response, StatusCodes.Status415UnsupportedMediaType,
                $"Unsupported compression type '{header}': request bodies may be sent with Content-Encoding {SupportedEncodings} or identity");
        }
        Stream decoder = coding == "gzip"
            ? new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true)
            : new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        var fallback = context.RequestServices.GetRequiredService<IOptions<KServeProtocolOptions>>().Value.MaxMessageBytes;
        var decoded = new DecodedRequestBody(decoder, coding, () =>
            context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? fallback);
        context.Response.RegisterForDispose(decoded);
        request.Body = decoded;
        request.Headers.ContentLength = null;
        request.Headers.Remove("Content-Encoding");
        return next(context);
    }

    /// <summary>The one content coding of the header, lower case: "identity" when it names none but identity; null
    /// when it names several codings other than identity (which the server does not decode).</summary>
    private static string? Coding(string header)
    {
        string? found = null;
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.ToLowerInvariant();
            if (name == "identity")
            {
                continue;
            }
            if (found is not null)
            {
                return null;
            }
            found = name;
        }
        return found ?? "identity";
    }
}

/// <summary>A request body decoded on the fly, counting the decoded bytes against the request's body limit (read
/// at the first read, after routing has set the endpoint's limit).</summary>
internal sealed class DecodedRequestBody(Stream decoder, string coding, Func<long?> limit) : Stream
{
    private long _decoded;
    private long? _limit;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _decoded; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await decoder.ReadAsync(buffer, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            throw NotOfItsCoding(e);
        }
        return Count(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n;
        try
        {
            n = decoder.Read(buffer, offset, count);
        }
        catch (InvalidDataException e)
        {
            throw NotOfItsCoding(e);
        }
        return Count(n);
    }

    private int Count(int n)
    {
        _limit ??= limit() ?? long.MaxValue;
        _decoded += n;
        if (_decoded > _limit)
        {
            throw new BadHttpRequestException(
                $"decompressed request body exceeds the limit of {_limit} bytes", StatusCodes.Status413PayloadTooLarge);
        }
        return n;
    }

    private BadHttpRequestException NotOfItsCoding(InvalidDataException e) =>
        new($"the request body is not valid {coding} data (Content-Encoding: {coding}): {e.Message}", StatusCodes.Status400BadRequest);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            decoder.Dispose();
        }
        base.Dispose(disposing);
    }
}
