namespace LoadTest.Reliability;

/// <summary>
/// Category 1: every case of <see cref="HttpBadInputCases"/> and <see cref="GrpcBadInputCases"/>, one at a time. A
/// case passes when it is rejected cleanly (HTTP: a 4xx with a JSON error body; gRPC: a non-OK status other than
/// UNKNOWN or INTERNAL, with a message) and the server then still serves a good request over both protocols.
/// </summary>
public sealed class BadInputCategory : IReliabilityCategory
{
    public string Name => "bad-input";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var http = HttpBadInputCases.Build(context.Seeds, context.Options);
        var grpc = GrpcBadInputCases.Build(context.Seeds, context.Options);
        int httpPassed = 0, http5xx = 0, httpLost = 0, grpcPassed = 0, grpcServerErrors = 0, grpcLost = 0, notServing = 0;
        foreach (var c in http)
        {
            var outcome = await c.Send(context, cancellationToken).ConfigureAwait(false);
            var serving = await context.ServesAsync(cancellationToken).ConfigureAwait(false);
            http5xx += outcome.IsServerError ? 1 : 0;
            httpLost += outcome.IsLost ? 1 : 0;
            notServing += serving is null ? 0 : 1;
            if (report.Check(outcome.IsCleanRejection && serving is null, c.Name,
                () => (outcome.IsCleanRejection ? "" : "got " + outcome.Describe()) + (serving is null ? "" : "; afterwards " + serving)))
            {
                httpPassed++;
            }
        }
        foreach (var c in grpc)
        {
            var outcome = await c.Send(context, cancellationToken).ConfigureAwait(false);
            var serving = await context.ServesAsync(cancellationToken).ConfigureAwait(false);
            grpcServerErrors += outcome.IsServerError ? 1 : 0;
            grpcLost += outcome.IsLost ? 1 : 0;
            notServing += serving is null ? 0 : 1;
            if (report.Check(outcome.IsCleanRejection && serving is null, c.Name,
                () => (outcome.IsCleanRejection ? "" : "got " + outcome.Describe()) + (serving is null ? "" : "; afterwards " + serving)))
            {
                grpcPassed++;
            }
        }
        report.Figure("http", $"{httpPassed}/{http.Count}");
        report.Figure("grpc", $"{grpcPassed}/{grpc.Count}");
        report.Figure("http 5xx", http5xx.ToString(System.Globalization.CultureInfo.InvariantCulture));
        report.Figure("grpc UNKNOWN/INTERNAL", grpcServerErrors.ToString(System.Globalization.CultureInfo.InvariantCulture));
        report.Figure("no answer", (httpLost + grpcLost).ToString(System.Globalization.CultureInfo.InvariantCulture));
        report.Figure("not serving after", notServing.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
