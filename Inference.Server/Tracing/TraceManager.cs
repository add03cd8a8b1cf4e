using Inference.Server.Core;
using Microsoft.Extensions.Logging;

namespace Inference.Server.Tracing;

/// <summary>
/// Triton's trace manager: the global trace setting and the models' own ones, sampling, and the updates of the trace
/// extension (<c>/v2[/models/{model}]/trace/setting</c>, gRPC TraceSetting). A model setting holds the fields set for
/// it and takes the others from the global setting, following it when the global setting changes (Triton's fallback);
/// a model whose fields are all cleared uses the global setting again.
/// </summary>
/// <remarks>Hot path: <see cref="IsActive"/> is one volatile read; while it is false the front-ends sample nothing and
/// requests carry no trace.</remarks>
public sealed class TraceManager : IDisposable
{
    private readonly object _writeLock = new();
    private readonly TraceSettingValues _default;
    private readonly TraceFile? _file;
    private readonly TraceSpans _spans;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<ulong> _nextId;
    private readonly HashSet<string> _fallbackModels = new(StringComparer.Ordinal);
    private volatile TraceSetting _global;
    private volatile Dictionary<string, TraceSetting> _models = new(StringComparer.Ordinal);
    private volatile bool _active;
    private long _lastId;
    private bool _disposed;

    public TraceManager(TraceConfig config, TraceSpans spans, TimeProvider time, ILogger<TraceManager> logger)
    {
        _default = TraceSettingValues.From(config);
        _spans = spans;
        _time = time;
        _logger = logger;
        _nextId = () => (ulong)Interlocked.Increment(ref _lastId);
        _file = config.File.Length > 0 ? new TraceFile(config.File, logger) : null;
        _global = NewSetting(_default);
        _active = _global.Valid;
    }

    /// <summary>Whether any setting may sample: false keeps tracing's cost at this one read.</summary>
    public bool IsActive => _active;

    /// <summary>A trace for this request of <paramref name="model"/>, or null when it is not sampled.</summary>
    /// <param name="requestStart">The request's arrival in the front-end (REQUEST_START).</param>
    public RequestTrace? Sample(string model, string requestId, long requestStart)
    {
        if (!_active)
        {
            return null;
        }
        var setting = _models.TryGetValue(model, out var own) ? own : _global;
        return setting.Sample(model, requestId, requestStart);
    }

    /// <summary>The setting in force for <paramref name="model"/> (null or empty: the global one), with the remaining count.</summary>
    public (TraceSettingValues Values, int RemainingCount) Get(string? model)
    {
        var setting = !string.IsNullOrEmpty(model) && _models.TryGetValue(model, out var own) ? own : _global;
        return (setting.Values, setting.Count);
    }

    /// <summary>Applies an update to the global setting (<paramref name="model"/> null or empty) or to a model's;
    /// null on success, else Triton's error (the setting stays as it was).</summary>
    public InferenceError? Update(string? model, TraceSettingUpdate update)
    {
        lock (_writeLock)
        {
            if (string.IsNullOrEmpty(model))
            {
                var error = UpdateLocked(null, update);
                if (error is not null)
                {
                    return error;
                }
                foreach (var name in _fallbackModels.ToList())
                {
                    UpdateLocked(name, new TraceSettingUpdate());
                }
            }
            else if (UpdateLocked(model, update) is { } error)
            {
                return error;
            }
            _active = _global.Valid || _models.Values.Any(s => s.Valid);
            TraceLog.Updated(_logger, string.IsNullOrEmpty(model) ? "" : $" of model '{model}'", Describe(Get(model).Values));
            return null;
        }
    }

    private InferenceError? UpdateLocked(string? model, TraceSettingUpdate update)
    {
        TraceSetting? current;
        TraceSettingValues fallback;
        int fallbackCount;
        if (model is null)
        {
            current = _global;
            (fallback, fallbackCount) = (_default, _default.Count);
        }
        else
        {
            current = _models.GetValueOrDefault(model);
            (fallback, fallbackCount) = (_global.Values, _global.Count);
        }
        var c = current?.Values;
        var levelSpecified = !update.ClearLevel && ((c?.LevelSpecified ?? false) || update.Level is not null);
        var rateSpecified = !update.ClearRate && ((c?.RateSpecified ?? false) || update.Rate is not null);
        var countSpecified = !update.ClearCount && ((c?.CountSpecified ?? false) || update.Count is not null);
        var frequencySpecified = !update.ClearLogFrequency && ((c?.LogFrequencySpecified ?? false) || update.LogFrequency is not null);
        var values = new TraceSettingValues(
            levelSpecified ? update.Level ?? c!.Level : fallback.Level,
            rateSpecified ? update.Rate ?? c!.Rate : fallback.Rate,
            // The remaining count carries over when the count itself is not being set.
            countSpecified ? update.Count ?? current!.Count : fallbackCount,
            frequencySpecified ? update.LogFrequency ?? c!.LogFrequency : fallback.LogFrequency,
            fallback.File,
            fallback.Mode,
            levelSpecified, rateSpecified, countSpecified, frequencySpecified);

        if (model is not null && !(levelSpecified || rateSpecified || countSpecified || frequencySpecified))
        {
            // Nothing of its own left: the model uses the global setting again.
            if (current is not null)
            {
                var models = new Dictionary<string, TraceSetting>(_models, StringComparer.Ordinal);
                models.Remove(model);
                _models = models;
                current.Retire(force: false);
            }
            _fallbackModels.Remove(model);
            return null;
        }
        if (values.Level != TraceLevel.Off && (values.InvalidReason ?? (values.Count == 0 ? "trace count is 0" : null)) is { } reason)
        {
            return new InferenceError(ErrorCode.InvalidArgument, "Attempting to set invalid trace setting :" + reason);
        }
        if (model is not null)
        {
            if (levelSpecified && rateSpecified && countSpecified && frequencySpecified)
            {
                _fallbackModels.Remove(model);
            }
            else
            {
                _fallbackModels.Add(model);
            }
        }
        var setting = NewSetting(values);
        if (model is null)
        {
            _global = setting;
        }
        else
        {
            _models = new Dictionary<string, TraceSetting>(_models, StringComparer.Ordinal) { [model] = setting };
        }
        current?.Retire(force: false);
        return null;
    }

    private TraceSetting NewSetting(TraceSettingValues values) => new(values, _file, _spans, _time, _nextId);

    private static string Describe(TraceSettingValues v) =>
        $"level={string.Join("|", TraceNames.Of(v.Level))} rate={v.Rate} count={v.Count} log_frequency={v.LogFrequency}";

    /// <summary>At shutdown: writes every setting's remaining traces and closes the trace file's JSON array.</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _active = false;
            _global.Retire(force: true);
            foreach (var setting in _models.Values)
            {
                setting.Retire(force: true);
            }
            _file?.Dispose();
        }
    }
}
