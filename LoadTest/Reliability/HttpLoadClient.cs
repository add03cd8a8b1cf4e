using System.Globalization;
using System.Net.Http.Headers;
using LoadTest.Clients;

namespace LoadTest.Reliability;

/// <summary>Good requests over HTTP with the binary tensor extension (one connection per concurrent request); a 200 is
/// served only when its outputs pass the model's <see cref="SeedRequests.Validator"/>.</summary>
public sealed class HttpLoadClient : ILoadClient
{
    private const string HeaderLengthName = "Inference-Header-Content-Length";
    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly SeedRequests _seeds;

    public HttpLoadClient(Uri server, SeedRequests seeds)
    {
        _seeds = seeds;
        _uri = new Uri(server, $"/v2/models/{seeds.Model.Name}/infer");
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, UseCookies = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Protocol => "http";

    public async Task<LoadResult> SendAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var content = new ByteArrayContent(_seeds.BinaryBody);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation(HeaderLengthName, _seeds.BinaryHeaderLength.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var response = await _http.PostAsync(_uri, content, cts.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status == 503)
            {
                return new LoadResult(LoadResultKind.Rejected, "http-503");
            }
            if (status != 200)
            {
                return new LoadResult(LoadResultKind.Error, "http-" + status);
            }
            var json = body.Length;
            if (response.Headers.TryGetValues(HeaderLengthName, out var values) || response.Content.Headers.TryGetValues(HeaderLengthName, out values))
            {
                if (!int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out json) || json > body.Length)
                {
                    return new LoadResult(LoadResultKind.Error, ResponseValidator.Malformed);
                }
            }
            var invalid = KServeJsonResponse.Validate(body.AsSpan(0, json), body.AsSpan(json), _seeds.Validator);
            return invalid is null ? LoadResult.Ok : new LoadResult(LoadResultKind.Error, invalid);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new LoadResult(LoadResultKind.Lost, "timeout");
        }
        catch (HttpRequestException e)
        {
            return new LoadResult(LoadResultKind.Lost, "transport-" + e.HttpRequestError);
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
