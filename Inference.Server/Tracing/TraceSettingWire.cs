using System.Globalization;
using Inference.Server.Core;

namespace Inference.Server.Tracing;

/// <summary>
/// The trace extension's settings on the wire, for HTTP and gRPC alike: a request's settings (name to values; null or
/// no value clears the field) into a <see cref="TraceSettingUpdate"/> with Triton's error wording, and a setting back to
/// Triton's reply (names to string lists).
/// </summary>
public static class TraceSettingWire
{
    public const string TraceFile = "trace_file";
    public const string TraceLevel = "trace_level";
    public const string TraceRate = "trace_rate";
    public const string TraceCount = "trace_count";
    public const string LogFrequency = "log_frequency";
    public const string TraceMode = "trace_mode";

    /// <summary>Parses the settings of a request; a value list that is null or empty clears the field.</summary>
    public static Result<TraceSettingUpdate> Parse(IEnumerable<KeyValuePair<string, IReadOnlyList<string>?>> settings)
    {
        var update = new TraceSettingUpdate();
        foreach (var (name, values) in settings)
        {
            var clear = values is null || values.Count == 0;
            switch (name)
            {
                case TraceFile:
                    // Triton 2.4x and later: a remote caller must not choose where the server writes.
                    return new InferenceError(ErrorCode.Unsupported, "trace file location can not be updated through network protocol");
                case TraceMode:
                    return new InferenceError(ErrorCode.Unsupported, "trace mode can not be updated through network protocol");
                case TraceLevel when clear:
                    update = update with { ClearLevel = true, Level = null };
                    break;
                case TraceLevel:
                    var level = TraceNames.ParseLevels(values!, out var error);
                    if (level is null)
                    {
                        return new InferenceError(ErrorCode.InvalidArgument, error!);
                    }
                    update = update with { Level = level, ClearLevel = false };
                    break;
                case TraceRate when clear:
                    update = update with { ClearRate = true, Rate = null };
                    break;
                case TraceRate:
                    var rate = ParseUInt(name, values!);
                    if (!rate.IsSuccess)
                    {
                        return rate.Error!;
                    }
                    update = update with { Rate = rate.Value, ClearRate = false };
                    break;
                case TraceCount when clear:
                    update = update with { ClearCount = true, Count = null };
                    break;
                case TraceCount:
                    var count = ParseCount(values!);
                    if (!count.IsSuccess)
                    {
                        return count.Error!;
                    }
                    update = update with { Count = count.Value, ClearCount = false };
                    break;
                case LogFrequency when clear:
                    update = update with { ClearLogFrequency = true, LogFrequency = null };
                    break;
                case LogFrequency:
                    var frequency = ParseUInt(name, values!);
                    if (!frequency.IsSuccess)
                    {
                        return frequency.Error!;
                    }
                    update = update with { LogFrequency = frequency.Value, ClearLogFrequency = false };
                    break;
                default:
                    return Invalid($"unknown trace setting '{name}'; valid: {TraceLevel}, {TraceRate}, {TraceCount}, {LogFrequency}");
            }
        }
        return update;
    }

    /// <summary>Triton's reply: trace_level, trace_rate, trace_count (the remaining count), and in triton mode
    /// log_frequency and trace_file, then trace_mode.</summary>
    public static IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Reply(TraceSettingValues values, int remainingCount)
    {
        var reply = new List<KeyValuePair<string, IReadOnlyList<string>>>
        {
            new(TraceLevel, TraceNames.Of(values.Level)),
            new(TraceRate, [Text(values.Rate)]),
            new(TraceCount, [remainingCount.ToString(CultureInfo.InvariantCulture)]),
        };
        if (values.Mode == Tracing.TraceMode.Triton)
        {
            reply.Add(new(LogFrequency, [Text(values.LogFrequency)]));
            reply.Add(new(TraceFile, [values.File]));
        }
        reply.Add(new(TraceMode, [TraceNames.Of(values.Mode)]));
        return reply;
    }

    /// <summary>Triton's answer to a model setting of a model that is not ready.</summary>
    public static InferenceError UnknownModel(string model) => Invalid("Request for unknown model : " + model);

    private static Result<uint> ParseUInt(string name, IReadOnlyList<string> values)
    {
        if (values.Count != 1)
        {
            return Invalid($"expect only 1 value for '{name}'");
        }
        var text = values[0];
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return Invalid($"Unable to parse '{name}', got: {text}");
        }
        if (value is < 0 or > uint.MaxValue)
        {
            return Invalid($"Unable to parse '{name}', value is out of range [ 0, {uint.MaxValue} ], got: {text}");
        }
        return (uint)value;
    }

    private static Result<int> ParseCount(IReadOnlyList<string> values)
    {
        if (values.Count != 1)
        {
            return Invalid($"expect only 1 value for '{TraceCount}'");
        }
        var text = values[0];
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return Invalid($"Unable to parse '{TraceCount}', got: {text}");
        }
        if (value < -1)
        {
            return Invalid($"Unable to parse '{TraceCount}'. Expecting value >= -1, got: {text}");
        }
        if (value > int.MaxValue)
        {
            return Invalid($"Unable to parse '{TraceCount}', value is out of range [ -1, {int.MaxValue} ], got: {text}");
        }
        return (int)value;
    }

    private static string Text(uint value) => value.ToString(CultureInfo.InvariantCulture);

    private static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
