using Microsoft.Extensions.Logging;

namespace Inference.Server.Hosting;

/// <summary>
/// Production-quiet logs, as Triton's: the server's own start, model and error lines, and nothing per request.
/// ASP.NET Core's request and endpoint lines, HttpClient's and Polly's (the OTLP exporter's calls go through the
/// service defaults' resilience handler) and gRPC's are raised to Warning unless Triton's <c>--log-verbose</c> is above
/// 0, which also turns the server's own Debug lines on. A level set in configuration
/// (<c>Logging:LogLevel:&lt;category&gt;</c>) for one of these categories is kept as set.
/// </summary>
public static class ServerLogging
{
    /// <summary>Categories whose Information lines are per request (or per export) in a serving process.</summary>
    public static readonly IReadOnlyList<string> PerRequestCategories =
        ["Microsoft.AspNetCore", "System.Net.Http.HttpClient", "Polly", "Grpc"];

    public static void Configure(ILoggingBuilder logging, IConfiguration configuration)
    {
        var verbose = configuration.GetValue<int?>($"{InferenceServerOptions.SectionName}:{nameof(InferenceServerOptions.LogVerbose)}") ?? 0;
        if (verbose > 0)
        {
            logging.AddFilter("Inference", LogLevel.Debug);
            return;
        }
        foreach (var category in PerRequestCategories)
        {
            if (configuration[$"Logging:LogLevel:{category}"] is null)
            {
                logging.AddFilter(category, LogLevel.Warning);
            }
        }
    }
}
