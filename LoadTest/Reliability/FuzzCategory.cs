using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Google.Protobuf;
using Inference.Server.Protos;

namespace LoadTest.Reliability;

/// <summary>
/// Category 2: <see cref="ReliabilityOptions.EffectiveFuzzCount"/> requests mutated by <see cref="Mutator"/> from valid
/// seeds (plain JSON, JSON with ids, parameters and outputs, the binary extension with its header length, ModelInfer
/// protobuf, ModelInfer on a ModelStreamInfer stream), half over HTTP and half over gRPC, 8 at a time. Request
/// <c>i</c> is reproducible from <c>--seed</c> and <c>i</c>. A request passes when it gets an answer within the
/// timeout that is not a 5xx (gRPC: not UNKNOWN or INTERNAL); one more check: the server still serves and holds no
/// pending request afterwards. HTTP 5xx answers to bodies whose JSON is not valid UTF-8 are named apart
/// (<c>fuzz/http-5xx/invalid-utf8/i</c>) from the others (<c>fuzz/http-5xx/i</c>).
/// </summary>
public sealed class FuzzCategory : IReliabilityCategory
{
    private const int Workers = 8;

    public string Name => "fuzz";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var seeds = Seeds(context.Seeds);
        var total = context.Options.EffectiveFuzzCount;
        var counts = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        long next = -1, http5xxUtf8 = 0, http5xxOther = 0, grpcServerErrors = 0, lost = 0, noJsonError = 0, done = 0;
        var path = $"/v2/models/{context.Model}/infer";
        var started = DateTime.UtcNow;

        async Task WorkAsync()
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var random = new Random(HashCode.Combine(context.Options.Seed, i));
                var kind = random.Next(100);
                if (kind < 50)
                {
                    var seed = kind < 20 ? seeds.Json : kind < 35 ? seeds.RichJson : seeds.Binary;
                    var partner = random.Next(2) == 0 ? seeds.Json : seeds.RichJson;
                    var (body, how) = Mutator.Mutate(seed, partner, random);
                    var binary = ReferenceEquals(seed, seeds.Binary);
                    List<KeyValuePair<string, string>>? headers = null;
                    var headerLength = body.Length;
                    if (binary)
                    {
                        headerLength = random.Next(5) == 0 ? random.Next(-10, body.Length + 10) : context.Seeds.BinaryHeaderLength;
                        headers = [new("Inference-Header-Content-Length", headerLength.ToString(CultureInfo.InvariantCulture))];
                        how += $" header-length={headerLength}";
                    }
                    var outcome = await context.SendAsync(HttpMethod.Post, path, body, cancellationToken, binary ? "application/octet-stream" : "application/json", headers).ConfigureAwait(false);
                    counts.AddOrUpdate(outcome.IsLost ? "http-" + outcome.Transport : "http-" + outcome.Status, 1, (_, n) => n + 1);
                    if (outcome.Status is >= 400 and < 500 && !outcome.HasJsonError)
                    {
                        Interlocked.Increment(ref noJsonError);
                    }
                    if (outcome.IsLost)
                    {
                        Interlocked.Increment(ref lost);
                        report.Fail($"fuzz/lost/http/{i}", $"{outcome.Describe()}; {how}; body {Repro(body)}");
                    }
                    else if (outcome.IsServerError)
                    {
                        var json = body.AsSpan(0, Math.Clamp(headerLength, 0, body.Length));
                        var invalidUtf8 = !Utf8.IsValid(json);
                        Interlocked.Increment(ref invalidUtf8 ? ref http5xxUtf8 : ref http5xxOther);
                        report.Fail(invalidUtf8 ? $"fuzz/http-5xx/invalid-utf8/{i}" : $"fuzz/http-5xx/{i}", $"{outcome.Describe()}; {how}; body {Repro(body)}");
                    }
                    else
                    {
                        report.Pass();
                    }
                }
                else
                {
                    var stream = kind >= 95;
                    var seed = kind < 75 ? seeds.Grpc : seeds.RichGrpc;
                    var (bytes, how) = Mutator.Mutate(seed, kind < 75 ? seeds.RichGrpc : seeds.Grpc, random);
                    var outcome = stream
                        ? await RawGrpc.StreamOnceAsync(context.Invoker, "ModelStreamInfer", bytes, GrpcBadInputCases.StreamError, context.Timeout, cancellationToken).ConfigureAwait(false)
                        : await RawGrpc.UnaryAsync(context.Invoker, "ModelInfer", bytes, context.Timeout, cancellationToken).ConfigureAwait(false);
                    var label = (stream ? "grpc-stream-" : "grpc-") + (outcome.Status?.ToString() ?? outcome.Transport);
                    counts.AddOrUpdate(label, 1, (_, n) => n + 1);
                    if (outcome.IsLost)
                    {
                        Interlocked.Increment(ref lost);
                        report.Fail($"fuzz/lost/grpc/{i}", $"{outcome.Describe()}; {how}; message {Repro(bytes)}");
                    }
                    else if (outcome.IsServerError)
                    {
                        Interlocked.Increment(ref grpcServerErrors);
                        report.Fail($"fuzz/grpc-server-error/{i}", $"{outcome.Describe()}; {how}; message {Repro(bytes)}");
                    }
                    else
                    {
                        report.Pass();
                    }
                }
                var d = Interlocked.Increment(ref done);
                if (d % 10_000 == 0)
                {
                    context.Log.WriteLine($"  fuzz: {d}/{total}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkAsync, cancellationToken))).ConfigureAwait(false);
        var elapsed = DateTime.UtcNow - started;

        var serving = await context.ServesAsync(cancellationToken).ConfigureAwait(false);
        var pending = await ServerMetrics.WaitForNoPendingAsync(context.Http, context.Options.HttpUrl, context.Model, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        report.Check(serving is null && pending is 0 or null, "fuzz/alive-after", () => $"{serving ?? "serves"}; pending requests {pending}");

        report.Figure("requests", total.ToString(CultureInfo.InvariantCulture));
        report.Figure("rate", $"{total / Math.Max(elapsed.TotalSeconds, 0.001):F0}/s");
        report.Figure("http 5xx", (http5xxUtf8 + http5xxOther).ToString(CultureInfo.InvariantCulture));
        report.Figure("of them on invalid UTF-8", http5xxUtf8.ToString(CultureInfo.InvariantCulture));
        report.Figure("grpc UNKNOWN/INTERNAL", grpcServerErrors.ToString(CultureInfo.InvariantCulture));
        report.Figure("resets/hangs", lost.ToString(CultureInfo.InvariantCulture));
        report.Figure("4xx without JSON error", noJsonError.ToString(CultureInfo.InvariantCulture));
        report.Figure("by status", string.Join(" ", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
    }

    /// <summary>The body as base64, cut at 2 KB (enough to replay a mutation of the small seeds).</summary>
    private static string Repro(byte[] body) => Convert.ToBase64String(body, 0, Math.Min(body.Length, 2048)) + (body.Length > 2048 ? "..." : "");

    private sealed record FuzzSeeds(byte[] Json, byte[] RichJson, byte[] Binary, byte[] Grpc, byte[] RichGrpc);

    private static FuzzSeeds Seeds(SeedRequests s)
    {
        var json = Encoding.UTF8.GetString(s.JsonBody);
        // The same request with an id, request parameters, input parameters and explicit outputs: more fields to break.
        var rich = "{\"id\":\"fuzz-seed\",\"parameters\":{\"tag\":\"x\",\"n\":3,\"b\":true}," + json[1..];
        var outputs = string.Join(",", s.Model.Outputs.Select(o => $"{{\"name\":\"{o.Name}\",\"parameters\":{{\"binary_data\":false}}}}"));
        var at = rich.IndexOf("\"outputs\":[", StringComparison.Ordinal);
        if (at >= 0)
        {
            var end = rich.IndexOf(']', at);
            rich = rich[..at] + "\"outputs\":[" + outputs + rich[end..];
        }
        var richGrpc = s.Grpc.Clone();
        richGrpc.Id = "fuzz-seed";
        richGrpc.Parameters["tag"] = new InferParameter { StringParam = "x" };
        richGrpc.Parameters["n"] = new InferParameter { Int64Param = 3 };
        return new FuzzSeeds(s.JsonBody, Encoding.UTF8.GetBytes(rich), s.BinaryBody, s.GrpcBytes, richGrpc.ToByteArray());
    }
}
