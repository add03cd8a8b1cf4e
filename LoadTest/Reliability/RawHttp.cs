using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace LoadTest.Reliability;

/// <summary>
/// HTTP/1.1 over a plain socket, for requests HttpClient refuses to send: a Content-Length that lies, a huge declared
/// size, a body cut short by closing the connection. Reads one response (Content-Length, chunked, or to the end of the
/// connection). One connection per request.
/// </summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> (request line and headers, without the blank line, which is added) and
    /// <paramref name="body"/>; with <paramref name="closeAfterSend"/> the sending side is shut down right after.</summary>
    public static async Task<HttpOutcome> SendAsync(Uri server, string head, byte[] body, TimeSpan timeout, CancellationToken cancellationToken,
        bool closeAfterSend = false)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(server.Host, server.Port, cts.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            var bytes = Encoding.ASCII.GetBytes(head.TrimEnd('\r', '\n') + "\r\n\r\n");
            await stream.WriteAsync(bytes, cts.Token).ConfigureAwait(false);
            if (body.Length > 0)
            {
                try
                {
                    await stream.WriteAsync(body, cts.Token).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The server may answer (413) and close before taking the whole body; its answer is still readable.
                }
            }
            if (closeAfterSend)
            {
                client.Client.Shutdown(SocketShutdown.Send);
            }
            return await ReadResponseAsync(stream, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HttpOutcome.Timeout();
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return HttpOutcome.TransportFailure(e.Message);
        }
    }

    /// <summary>Opens a connection, sends <paramref name="head"/> and the first <paramref name="partialBody"/> bytes of
    /// a body that the headers declare longer, and closes the connection at once (a client that goes away mid-upload).</summary>
    public static async Task AbandonAsync(Uri server, string head, byte[] partialBody, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(server.Host, server.Port, cancellationToken).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.TrimEnd('\r', '\n') + "\r\n\r\n"), cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(partialBody, cancellationToken).ConfigureAwait(false);
            client.Client.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The point is to go away; a server that already closed is fine.
        }
    }

    private static async Task<HttpOutcome> ReadResponseAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), "\r\n\r\n"u8)) < 0)
        {
            var n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return HttpOutcome.TransportFailure(buffer.Length == 0 ? "connection closed without a response" : "connection closed inside the response headers");
            }
            buffer.Write(chunk, 0, n);
        }
        var head = Encoding.ASCII.GetString(buffer.GetBuffer(), 0, headerEnd);
        var lines = head.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        if (statusParts.Length < 2 || !int.TryParse(statusParts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            return HttpOutcome.TransportFailure($"unreadable status line '{lines[0]}'");
        }
        long? contentLength = null;
        var chunked = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, CultureInfo.InvariantCulture, out var l))
            {
                contentLength = l;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true;
            }
        }
        var rest = new MemoryStream();
        rest.Write(buffer.GetBuffer(), headerEnd + 4, (int)buffer.Length - headerEnd - 4);
        if (contentLength is { } length)
        {
            while (rest.Length < length)
            {
                var n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                rest.Write(chunk, 0, n);
            }
            return new HttpOutcome(status, Encoding.UTF8.GetString(rest.GetBuffer(), 0, (int)Math.Min(rest.Length, length)), null);
        }
        if (chunked)
        {
            while (!EndsWith(rest, "0\r\n\r\n"u8))
            {
                var n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                rest.Write(chunk, 0, n);
            }
            return new HttpOutcome(status, Dechunk(rest.ToArray()), null);
        }
        if (status is 204 or 304 || status < 200)
        {
            return new HttpOutcome(status, "", null);
        }
        while (true)
        {
            var n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            rest.Write(chunk, 0, n);
        }
        return new HttpOutcome(status, Encoding.UTF8.GetString(rest.ToArray()), null);
    }

    private static string Dechunk(byte[] data)
    {
        var result = new MemoryStream();
        var at = 0;
        while (at < data.Length)
        {
            var lineEnd = IndexOf(data.AsSpan(at), "\r\n"u8);
            if (lineEnd < 0 || !int.TryParse(Encoding.ASCII.GetString(data, at, lineEnd).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size))
            {
                break;
            }
            at += lineEnd + 2;
            if (size == 0 || at + size > data.Length)
            {
                break;
            }
            result.Write(data, at, size);
            at += size + 2;
        }
        return Encoding.UTF8.GetString(result.ToArray());
    }

    private static bool EndsWith(MemoryStream stream, ReadOnlySpan<byte> suffix) =>
        stream.Length >= suffix.Length && stream.GetBuffer().AsSpan((int)stream.Length - suffix.Length, suffix.Length).SequenceEqual(suffix);

    private static int IndexOf(ReadOnlySpan<byte> data, ReadOnlySpan<byte> value) => data.IndexOf(value);
}
