namespace Inference.Server.Tracing;

/// <summary>The values of one trace setting (global or a model's) and which of them were set for it rather than
/// taken from the global setting (Triton's <c>*_specified_</c>).</summary>
public sealed record TraceSettingValues(
    TraceLevel Level,
    uint Rate,
    int Count,
    uint LogFrequency,
    string File,
    TraceMode Mode,
    bool LevelSpecified = false,
    bool RateSpecified = false,
    bool CountSpecified = false,
    bool LogFrequencySpecified = false)
{
    public static TraceSettingValues From(TraceConfig config) =>
        new(config.Level, config.Rate, config.Count, config.LogFrequency, config.File, config.Mode);

    /// <summary>Why traces cannot be sampled with these values (Triton's reasons), or null.</summary>
    public string? InvalidReason =>
        Level == TraceLevel.Off ? "tracing is disabled"
        : Rate == 0 ? "sample rate must be non-zero"
        : Mode == TraceMode.Triton && File.Length == 0 ? "trace file name is not given"
        : null;
}

/// <summary>A trace setting update (Triton's NewSetting): a null value leaves the field as it is; a Clear flag drops the
/// field's own value so the global one applies again.</summary>
public sealed record TraceSettingUpdate(
    TraceLevel? Level = null,
    uint? Rate = null,
    int? Count = null,
    uint? LogFrequency = null,
    bool ClearLevel = false,
    bool ClearRate = false,
    bool ClearCount = false,
    bool ClearLogFrequency = false);
