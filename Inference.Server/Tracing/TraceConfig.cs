using System.Globalization;

namespace Inference.Server.Tracing;

/// <summary>
/// The start-up trace settings from Triton's <c>--trace-config</c> (2.4x form, repeatable): global
/// <c>rate=</c>, <c>level=</c>, <c>count=</c>, <c>mode=triton|opentelemetry</c>, and
/// <c>triton,file=</c>, <c>triton,log-frequency=</c>. The trace file can be set only here, never through the API.
/// </summary>
public sealed record TraceConfig(TraceLevel Level, uint Rate, int Count, uint LogFrequency, string File, TraceMode Mode)
{
    public const string Flag = "--trace-config";

    /// <summary>Triton's defaults: OFF, rate 1000, count -1 (unlimited), log frequency 0 (write at shutdown), no file.</summary>
    public static TraceConfig Default { get; } = new(TraceLevel.Off, 1000, -1, 0, "", TraceMode.Triton);

    /// <summary>Parses the <c>--trace-config</c> values; each error names the value. The result holds what parsed.</summary>
    public static TraceConfig Parse(IEnumerable<string>? specs, out List<string> errors)
    {
        errors = [];
        var config = Default;
        var levels = new List<string>();
        foreach (var spec in specs ?? [])
        {
            var comma = spec.IndexOf(',');
            var section = comma < 0 ? "" : spec[..comma].Trim();
            var setting = comma < 0 ? spec : spec[(comma + 1)..];
            var equals = setting.IndexOf('=');
            if (equals <= 0)
            {
                errors.Add($"{Flag} '{spec}' must be <setting>=<value> or <mode>,<setting>=<value> (e.g. {Flag} triton,file=trace.json).");
                continue;
            }
            var name = setting[..equals].Trim();
            var value = setting[(equals + 1)..].Trim();
            switch (section, name)
            {
                case ("", "rate"):
                    if (uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var rate))
                    {
                        config = config with { Rate = rate };
                    }
                    else
                    {
                        errors.Add($"{Flag} rate='{value}' must be an integer 0..{uint.MaxValue}.");
                    }
                    break;
                case ("", "count"):
                    if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var count) && count >= -1)
                    {
                        config = config with { Count = count };
                    }
                    else
                    {
                        errors.Add($"{Flag} count='{value}' must be -1 (unlimited) or an integer 0..{int.MaxValue}.");
                    }
                    break;
                case ("", "level"):
                    levels.Add(value.ToUpperInvariant());
                    break;
                case ("", "mode"):
                    switch (value)
                    {
                        case "triton":
                            config = config with { Mode = TraceMode.Triton };
                            break;
                        case "opentelemetry":
                            config = config with { Mode = TraceMode.OpenTelemetry };
                            break;
                        default:
                            errors.Add($"{Flag} mode='{value}' must be triton or opentelemetry.");
                            break;
                    }
                    break;
                case ("triton", "file"):
                    config = config with { File = value };
                    break;
                case ("triton", "log-frequency"):
                    if (uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var frequency))
                    {
                        config = config with { LogFrequency = frequency };
                    }
                    else
                    {
                        errors.Add($"{Flag} triton,log-frequency='{value}' must be an integer 0..{uint.MaxValue}.");
                    }
                    break;
                case ("opentelemetry", _):
                    errors.Add($"{Flag} '{spec}': OpenTelemetry settings are not taken here; spans go through the server's "
                        + "OpenTelemetry exporter (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*).");
                    break;
                default:
                    errors.Add($"{Flag} '{spec}': unknown setting; valid: rate, level, count, mode, triton,file, triton,log-frequency.");
                    break;
            }
        }
        if (levels.Count > 0)
        {
            var level = TraceNames.ParseLevels(levels, out var error);
            if (level is null)
            {
                errors.Add($"{Flag} level: {error}.");
            }
            else
            {
                config = config with { Level = level.Value };
            }
        }
        if (config.Level != TraceLevel.Off && config.Mode == TraceMode.Triton && config.File.Length == 0)
        {
            errors.Add($"{Flag} level={TraceNames.Timestamps} in triton mode needs a trace file: {Flag} triton,file=<path>.");
        }
        return config;
    }
}
