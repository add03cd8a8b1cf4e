using System.IO.Compression;
using Microsoft.AspNetCore.ResponseCompression;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Response compression of the KServe HTTP API, as Triton's HTTP frontend: a reply under <c>/v2</c> (JSON or binary
/// tensor data) is sent <c>gzip</c> or <c>deflate</c> (zlib format) encoded when the request's <c>Accept-Encoding</c>
/// prefers that coding (highest q-value; ties go to gzip), and as is otherwise. The binary reply's
/// <c>Inference-Header-Content-Length</c> counts the JSON header before compression, as in Triton.
/// </summary>
public static class HttpResponseCompression
{
    /// <summary>Registers the gzip and deflate providers for the KServe replies (fastest level, as a server on the
    /// request path wants).</summary>
    public static IServiceCollection AddKServeResponseCompression(this IServiceCollection services)
    {
        services.AddResponseCompression(o =>
        {
            o.EnableForHttps = true;
            o.MimeTypes = [HttpJson.ContentType, InferResponseWriter.BinaryContentType];
            o.Providers.Clear();
            o.Providers.Add<GzipCompressionProvider>();
            o.Providers.Add<DeflateCompressionProvider>();
        });
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        return services;
    }

    /// <summary>Compresses replies of requests under <c>/v2</c> that ask for it.</summary>
    public static IApplicationBuilder UseKServeResponseCompression(this IApplicationBuilder app) =>
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/v2"), branch => branch.UseResponseCompression());

    /// <summary>HTTP's <c>deflate</c> coding: the zlib format (RFC 1950), which Triton and its clients use.</summary>
    private sealed class DeflateCompressionProvider : ICompressionProvider
    {
        public string EncodingName => "deflate";

        public bool SupportsFlush => true;

        public Stream CreateStream(Stream outputStream) => new ZLibStream(outputStream, CompressionLevel.Fastest, leaveOpen: true);
    }
}
