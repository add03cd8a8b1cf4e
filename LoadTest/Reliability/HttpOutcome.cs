using System.Text.Json;

namespace LoadTest.Reliability;

/// <summary>
/// What one HTTP request got: the status (0 when no response came), the body as text, whether the body is a JSON
/// object with a string <c>error</c> (the KServe error form), and, when no response came, why (<c>timeout</c> or
/// <c>transport:...</c>: a reset, a closed connection).
/// </summary>
public sealed record HttpOutcome(int Status, string Body, string? Transport)
{
    /// <summary>The <c>error</c> string of a KServe error body, else null.</summary>
    public string? ErrorMessage { get; } = ReadError(Body);

    public bool HasJsonError => ErrorMessage is not null;

    /// <summary>A 4xx with a JSON <c>{"error": "..."}</c> body: what every bad request must get; or a 501 with one, Triton's
    /// answer to a request for a feature the server does not implement (UNSUPPORTED), which is no server failure.</summary>
    public bool IsCleanRejection => Status is (>= 400 and < 500) or 501 && HasJsonError;

    public bool IsServerError => Status >= 500 && Status != 501;

    public bool IsLost => Status == 0;

    public static HttpOutcome Timeout() => new(0, "", "timeout");

    public static HttpOutcome TransportFailure(string detail) => new(0, "", "transport: " + detail);

    /// <summary>Status and the first 200 characters of the body (or the transport failure), for failure details.</summary>
    public string Describe() => Status == 0 ? Transport ?? "no response" : $"{Status} {Shorten(Body, 200)}";

    public static string Shorten(string text, int max) => text.Length <= max ? text : text[..max] + "...";

    private static string? ReadError(string body)
    {
        if (body.Length == 0 || body[0] != '{')
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String
                ? e.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
