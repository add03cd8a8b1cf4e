using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Inference.Server.Hosting;

/// <summary>
/// Production-quiet logs, as Triton's: the server's own start, model and error lines, and nothing per request.
/// ASP.NET Core's request and endpoint lines, HttpClient's and Polly's (the OTLP exporter's calls go through the
/// service defaults' resilience handler) and gRPC's are raised to Warning unless Triton's verbose level
/// (<c>--log-verbose</c>, or <c>log_verbose_level</c> of the logging extension at run time) is above 0, which also turns
/// the server's own Debug lines on (above 1 its Trace lines). A level set in configuration
/// (<c>Logging:LogLevel:&lt;category&gt;</c>) for a category is kept as set. On top of the levels, Triton's switches
/// <c>log_info</c>, <c>log_warning</c> and <c>log_error</c> (<see cref="ServerLogSettings"/>) apply to every provider,
/// read on each line so that changes take effect at once. Lines are written in Triton's format
/// (<see cref="TritonLogProvider"/>) to the console or to --log-file, in place of the console logger.
/// </summary>
/// <remarks>Provider-specific levels in configuration (<c>Logging:Console:LogLevel</c> ...) are outside these rules.</remarks>
public static class ServerLogging
{
    /// <summary>Categories whose Information lines are per request (or per export) in a serving process.</summary>
    public static readonly IReadOnlyList<string> PerRequestCategories =
        ["Microsoft.AspNetCore", "System.Net.Http.HttpClient", "Polly", "Grpc"];

    /// <summary>The server's own categories.</summary>
    public const string ServerCategory = "Inference";

    /// <summary>Installs the rules and Triton's log writer; returns the settings (also registered as a singleton).</summary>
    public static ServerLogSettings Configure(ILoggingBuilder logging, InferenceServerOptions options)
    {
        var settings = ServerLogSettings.From(options);
        logging.Services.AddSingleton(settings);
        logging.Services.Configure<LoggerFilterOptions>(filters => AddRules(filters, settings));
        foreach (var console in logging.Services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList())
        {
            logging.Services.Remove(console);
        }
        logging.Services.AddSingleton<ILoggerProvider>(_ => new TritonLogProvider(settings));
        return settings;
    }

    /// <summary>Every provider-neutral rule gets a successor for the same category (a later rule of the same
    /// specificity wins) whose filter applies the verbose level and Triton's switches at each line; the default, server
    /// and per-request categories get one whether configured or not.</summary>
    private static void AddRules(LoggerFilterOptions filters, ServerLogSettings settings)
    {
        var configured = new Dictionary<string, LogLevel?>(StringComparer.OrdinalIgnoreCase);
        LogLevel? configuredDefault = null;
        foreach (var rule in filters.Rules.Where(r => r.ProviderName is null && r.Filter is null))
        {
            if (rule.CategoryName is null)
            {
                configuredDefault = rule.LogLevel;
            }
            else
            {
                configured[rule.CategoryName] = rule.LogLevel;
            }
        }
        var defaultLevel = configuredDefault ?? filters.MinLevel;
        foreach (var category in PerRequestCategories.Append(ServerCategory))
        {
            configured.TryAdd(category, null);
        }

        filters.Rules.Add(new LoggerFilterRule(null, null, null, (_, _, level) => level >= defaultLevel && settings.Allows(level)));
        foreach (var (category, level) in configured)
        {
            var explicitLevel = level;
            var server = category.StartsWith(ServerCategory, StringComparison.OrdinalIgnoreCase);
            var perRequest = PerRequestCategories.Any(p => category.StartsWith(p, StringComparison.OrdinalIgnoreCase));
            filters.Rules.Add(new LoggerFilterRule(null, category, null, (_, _, at) =>
            {
                var verbose = settings.VerboseLevel;
                var min = server && verbose > 0 ? Min(explicitLevel ?? LogLevel.Debug, verbose > 1 ? LogLevel.Trace : LogLevel.Debug)
                    : perRequest && verbose == 0 ? explicitLevel ?? LogLevel.Warning
                    : explicitLevel ?? defaultLevel;
                return at >= min && settings.Allows(at);
            }));
        }
    }

    private static LogLevel Min(LogLevel a, LogLevel b) => a < b ? a : b;
}
