using System.Buffers;
using Inference.Server.Core;
using Microsoft.AspNetCore.Http.Features;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Reads a request body once into a pooled buffer (the caller owns it). With a Content-Length the buffer is rented
/// at that size from the server's <see cref="ITensorBufferPool"/> (page-locked memory on a GPU server, so binary
/// tensors sliced out of it reach the device without a gather) and filled in place; a chunked body grows in rented
/// arrays and is copied once into a <see cref="PooledBuffer"/>.
/// Never holds more than the limit: Kestrel's MaxRequestBodySize for the request when set, else
/// <paramref name="fallbackLimit"/>. Over-limit bodies fail with 413 (<see cref="BodyTooLarge"/>).
/// </summary>
public static class RequestBodyReader
{
    /// <summary>The HTTP status of an over-limit body (no <see cref="ErrorCode"/> stands for it).</summary>
    public const int BodyTooLarge = StatusCodes.Status413PayloadTooLarge;

    public static async ValueTask<BodyReadResult> ReadAsync(
        HttpRequest request, long fallbackLimit, CancellationToken cancellationToken, ITensorBufferPool? pool = null)
    {
        var limit = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? fallbackLimit;
        limit = Math.Min(limit, Array.MaxLength);
        try
        {
            if (request.ContentLength is { } length)
            {
                if (length > limit)
                {
                    return BodyReadResult.Fail(BodyTooLarge, $"request body of {length} bytes exceeds the limit of {limit} bytes");
                }
                return await ReadKnownLengthAsync(request.Body, (int)length, pool ?? ArrayTensorBufferPool.Instance, cancellationToken);
            }
            return await ReadChunkedAsync(request.Body, limit, cancellationToken);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel enforces MaxRequestBodySize itself (413) and reports truncated bodies (400).
            return BodyReadResult.Fail(e.StatusCode, e.Message);
        }
    }

    private static async ValueTask<BodyReadResult> ReadKnownLengthAsync(Stream body, int length, ITensorBufferPool pool, CancellationToken cancellationToken)
    {
        var buffer = pool.Rent(length);
        try
        {
            var filled = 0;
            while (filled < length)
            {
                var n = await body.ReadAsync(buffer.Memory[filled..], cancellationToken);
                if (n == 0)
                {
                    buffer.Dispose();
                    return BodyReadResult.Fail(StatusCodes.Status400BadRequest, $"request body ended after {filled} of {length} bytes");
                }
                filled += n;
            }
            return BodyReadResult.Ok(buffer);
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    private static async ValueTask<BodyReadResult> ReadChunkedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        var array = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == array.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)array.Length * 2, Array.MaxLength));
                    array.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(array);
                    array = bigger;
                }
                var n = await body.ReadAsync(array.AsMemory(filled), cancellationToken);
                if (n == 0)
                {
                    break;
                }
                filled += n;
                if (filled > limit)
                {
                    return BodyReadResult.Fail(BodyTooLarge, $"request body exceeds the limit of {limit} bytes");
                }
            }
            var buffer = PooledBuffer.Rent(filled);
            array.AsSpan(0, filled).CopyTo(buffer.Span);
            return BodyReadResult.Ok(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}

/// <summary>A body in a pooled buffer (the caller owns it), or an HTTP status and message.</summary>
public readonly record struct BodyReadResult(IMemoryOwner<byte>? Body, int Status, string? Message)
{
    public static BodyReadResult Ok(IMemoryOwner<byte> body) => new(body, StatusCodes.Status200OK, null);

    public static BodyReadResult Fail(int status, string message) => new(null, status, message);
}
