using System.Buffers;
using System.Text.Json;

namespace Inference.Server.Tracing;

/// <summary>
/// One live trace setting: its values, its sampling state (Triton's <c>sample_</c>, <c>created_</c>, <c>collected_</c>,
/// the remaining <c>count_</c>) and the traces collected but not yet written. Replaced, never changed, by an update; the
/// replaced one is retired and writes what it holds once its traces in flight are complete (Triton writes a setting's
/// rest when it is destroyed).
/// </summary>
internal sealed class TraceSetting
{
    private readonly object _lock = new();
    private readonly TraceFile? _file;
    private readonly TraceSpans _spans;
    private readonly TimeProvider _time;
    private readonly Func<ulong> _nextId;
    private readonly ArrayBufferWriter<byte> _stream = new();
    private int _count;
    private long _sample;
    private long _created;
    private long _collected;
    private long _inStream;
    private bool _retired;

    public TraceSetting(TraceSettingValues values, TraceFile? file, TraceSpans spans, TimeProvider time, Func<ulong> nextId)
    {
        Values = values;
        _file = file;
        _spans = spans;
        _time = time;
        _nextId = nextId;
        _count = values.Count;
    }

    public TraceSettingValues Values { get; }

    /// <summary>The remaining count (-1: unlimited), as Triton reports it.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Whether this setting may still sample: valid values and a count not run out.</summary>
    public bool Valid => Values.InvalidReason is null && Count != 0;

    /// <summary>Triton's sampling: every request counts; every <c>rate</c>-th is traced while the count lasts.</summary>
    public RequestTrace? Sample(string model, string requestId, long requestStart)
    {
        lock (_lock)
        {
            if (Values.InvalidReason is not null || _count == 0 || _retired)
            {
                return null;
            }
            if (++_sample % Values.Rate != 0)
            {
                return null;
            }
            if (_count > 0)
            {
                _count--;
            }
            _created++;
        }
        return new RequestTrace(this, _nextId(), model, requestId, requestStart)
        {
            Parent = System.Diagnostics.Activity.Current?.Context ?? default,
        };
    }

    /// <summary>Takes a completed trace: OpenTelemetry spans, or the trace file (written every <c>log_frequency</c>
    /// traces, and once the count has run out).</summary>
    public void Collect(RequestTrace trace)
    {
        if (Values.Mode == TraceMode.OpenTelemetry)
        {
            _spans.Emit(trace, _time);
            lock (_lock)
            {
                _collected++;
            }
            return;
        }
        var json = Serialize(trace);
        byte[]? toWrite = null;
        var toIndex = true;
        lock (_lock)
        {
            if (_inStream != 0)
            {
                _stream.Write(","u8);
            }
            _stream.Write(json.WrittenSpan);
            _inStream++;
            _collected++;
            if ((_count == 0 && _collected == _created)
                || (Values.LogFrequency != 0 && _inStream >= Values.LogFrequency))
            {
                toWrite = TakeStreamLocked();
            }
            else if (_retired && _collected == _created)
            {
                toWrite = TakeStreamLocked();
                toIndex = Values.LogFrequency != 0;
            }
        }
        if (toWrite is not null)
        {
            _file?.Save(toWrite, toIndex);
        }
    }

    /// <summary>Stops sampling; the traces held are written now, or by the last trace in flight when it completes
    /// (to an index file when <c>log_frequency</c> is set, else to the trace file). <paramref name="force"/>: now, at
    /// shutdown.</summary>
    public void Retire(bool force)
    {
        byte[]? toWrite = null;
        lock (_lock)
        {
            _retired = true;
            if (_inStream != 0 && (force || _collected == _created))
            {
                toWrite = TakeStreamLocked();
            }
        }
        if (toWrite is not null)
        {
            _file?.Save(toWrite, Values.LogFrequency != 0);
        }
    }

    private byte[] TakeStreamLocked()
    {
        var bytes = _stream.WrittenSpan.ToArray();
        _stream.ResetWrittenCount();
        _inStream = 0;
        return bytes;
    }

    /// <summary>Triton's trace JSON: the trace's model object, then one object per timestamp.</summary>
    private ArrayBufferWriter<byte> Serialize(RequestTrace trace)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteNumber("id", trace.Id);
            w.WriteString("model_name", trace.ModelName);
            w.WriteNumber("model_version", trace.ModelVersion);
            if (trace.RequestId.Length > 0)
            {
                w.WriteString("request_id", trace.RequestId);
            }
            w.WriteEndObject();
            foreach (var (name, ticks) in trace.Timestamps())
            {
                w.WriteStartObject();
                w.WriteNumber("id", trace.Id);
                w.WriteStartArray("timestamps");
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteNumber("ns", ToNanoseconds(ticks));
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        // Without the array's brackets: the traces of a file share one array.
        var inner = new ArrayBufferWriter<byte>(buffer.WrittenCount);
        inner.Write(buffer.WrittenSpan[1..^1]);
        return inner;
    }

    /// <summary>A monotonic timestamp in nanoseconds (Triton's steady clock).</summary>
    private long ToNanoseconds(long ticks) =>
        _time.TimestampFrequency == 1_000_000_000 ? ticks : (long)((Int128)ticks * 1_000_000_000 / _time.TimestampFrequency);
}
